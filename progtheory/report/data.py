"""The committed results a record reads: an experiment's tables with its companion folders
(the same grid under another recipe), its gap table split by recipe, the tuned baseline LR, and
the one table of what each recipe's records read where that differs by recipe."""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from progtheory import analysis as A
from progtheory import config as C
from progtheory import presets

PAPER_RECIPE = A.recipe_of(C.to_dict(presets.recipe()))  # "completep + Muon-NSGD": `presets.recipe`
FIG = "paper_figures/"


@dataclass(frozen=True)
class RecipeFolders:
    """What one recipe's records read where it differs by recipe.

    `grids`: experiment -> the results folder of that grid under this recipe (a recipe's run of
    a grid lives in its own folder); `frontier`: the folders of P19's data; `budget`: the
    token-budget experiment quoted beside P2 (None: none); `ladder`: whether the ladder toward
    the paper's regime is quoted beside P2; `suffix`: of the recipe's figure names
    (compute_frontier{suffix}.png, init_scale{suffix}.png)."""

    grids: dict
    frontier: tuple[str, ...]
    budget: str | None
    ladder: bool
    suffix: str


RECIPE_FOLDERS = {
    A.DEFAULT_RECIPE: RecipeFolders({"mixing": "mixing", "init_strategies": "init_strategies", "frontier": "frontier"},
                                    ("frontier", "budget", "mixing"), "budget", False, ""),
    PAPER_RECIPE: RecipeFolders({"mixing": "mixing_recipe", "init_strategies": "init_recipe",
                                 "frontier": "frontier_recipe"},
                                ("frontier_recipe", "mixing_recipe"), "budget_small", True, "_recipe"),
}
_ANOTHER = replace(RECIPE_FOLDERS[PAPER_RECIPE], budget=None, ladder=False)  # a recipe of neither kind

# Experiments whose results a record reads together: every recipe's folder of the grid, stacked
# (the records split the rows by recipe again).
COMPANIONS = {name: tuple(f.grids[name] for f in RECIPE_FOLDERS.values())
              for name in RECIPE_FOLDERS[A.DEFAULT_RECIPE].grids}


def folders(recipe: str) -> RecipeFolders:
    """The folders of `recipe`'s records (RECIPE_FOLDERS; another recipe reads the paper
    recipe's folders and quotes no budget)."""
    return RECIPE_FOLDERS.get(recipe, _ANOTHER)


def res(*names: str) -> str:
    """The data line of a record: its results folders."""
    return ", ".join(f"experiments/results/{n}" for n in names)


@lru_cache(maxsize=32)
def load(name: str, root: str) -> tuple[pd.DataFrame, pd.DataFrame] | None:
    """(runs, metrics) of experiment `name` and its `COMPANIONS` that have results, stacked;
    None when none has."""
    loaded = []
    for part in COMPANIONS.get(name, (name,)):
        try:
            loaded.append(A.load_results(part, root))
        except FileNotFoundError:
            continue
    if not loaded:
        return None
    return tuple(pd.concat([x[i] for x in loaded], ignore_index=True) for i in (0, 1))


@lru_cache(maxsize=32)
def gap_table(name: str, root: str, spike: bool = False, drop: tuple[str, ...] = ()) -> pd.DataFrame | None:
    """`analysis.mixing_table` of experiment `name` (tags in `drop` left out), or None when the
    results are missing or hold no progressive/fixed pair yet."""
    loaded = load(name, root)
    if loaded is None:
        return None
    runs, metrics = loaded
    table = A.mixing_table(runs.drop(columns=list(drop)), metrics, spike=spike)
    return None if table.empty else table


def by_recipe(table: pd.DataFrame | None):
    """(recipe, rows) per recipe of a results table, in a fixed order."""
    if table is None:
        return []
    return [(r, g) for r, g in table.groupby("recipe", sort=True)] if "recipe" in table else [(A.DEFAULT_RECIPE, table)]


def tuned_baseline_lr(root: Path | str) -> dict | None:
    """The fixed baseline's tuned LR from `baseline_lr` (see `analysis.tuned_lr`), or None."""
    loaded = load("baseline_lr", str(root))
    if loaded is None or loaded[0].empty:
        return None
    return A.tuned_lr(loaded[0])


def primary_lr(runs: pd.DataFrame, root: str) -> list[float]:
    """The peak LRs of a table, the one that decides the verdicts first (`analysis.lr_order`)."""
    tuned = tuned_baseline_lr(root)
    return A.lr_order(runs, None if tuned is None else tuned["lr"])


def lr_label(lr: float, root: str) -> str:
    tuned = tuned_baseline_lr(root)
    return f"lr {lr:g}" + (" (tuned)" if tuned and np.isclose(lr, tuned["lr"]) else "")
