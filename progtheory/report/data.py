"""The committed results a record reads: an experiment's tables with every recipe's arm of it
stacked (each arm in the results folder its declaration names), its gap table split by recipe,
the tuned baseline LR, and the one table of what each recipe's records read where that differs by
recipe."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from progtheory import analysis as A
from progtheory import config as C
from progtheory import presets
from progtheory.report.rule import Condition

PAPER_RECIPE = A.recipe_of(C.to_dict(presets.recipe()))  # "completep + Muon-NSGD": `presets.recipe`
FIG = "paper_figures/"
# The experiments whose records split by recipe, each recipe reading its own arm of them
# (`RecipeArms.arm`; `budget` has an sp + AdamW arm only at the default size).
BY_RECIPE = ("mixing", "init_strategies", "frontier", "budget")
# Those whose fixed runs are full-schedule WSD runs at each recipe's tuned LR: the frontier of P19.
FRONTIER_SOURCES = ("frontier", "budget")


@dataclass(frozen=True)
class RecipeArms:
    """What one recipe's records read where it differs by recipe.

    `arm`: the recipe's arm of the experiments in BY_RECIPE (an arm name of their declarations,
    `sweep.Experiment.arms`); `budget_arm`: its arm of `budget` quoted beside P2 (None: none);
    `ladder`: whether the ladder toward the paper's regime is quoted beside P2; `suffix`: of the
    recipe's figure names (compute_frontier{suffix}.png, init_scale{suffix}.png).  The results
    folders follow from the declarations: `grids` (experiment -> the folder of the recipe's arm,
    for each experiment of BY_RECIPE that has one), `frontier` (the folders of P19's data) and
    `budget` (the folder of `budget_arm`)."""

    arm: str
    budget_arm: str | None
    ladder: bool
    suffix: str

    @property
    def grids(self) -> dict[str, str]:
        return {name: A.arms_of(name)[self.arm] for name in BY_RECIPE if self.arm in A.arms_of(name)}

    @property
    def frontier(self) -> tuple[str, ...]:
        grids = self.grids
        return tuple(grids[name] for name in FRONTIER_SOURCES + ("mixing",) if name in grids)

    @property
    def budget(self) -> str | None:
        return None if self.budget_arm is None else A.arms_of("budget")[self.budget_arm]


RECIPE_ARMS = {
    A.DEFAULT_RECIPE: RecipeArms("sp-adamw", "sp-adamw", False, ""),
    PAPER_RECIPE: RecipeArms("recipe", "recipe-d64", True, "_recipe"),
}
_ANOTHER = RecipeArms("recipe", None, False, "_recipe")  # a recipe of neither kind: the paper recipe's arms


def folders(recipe: str) -> RecipeArms:
    """What `recipe`'s records read (RECIPE_ARMS; another recipe reads the paper recipe's arms
    and quotes no budget)."""
    return RECIPE_ARMS.get(recipe, _ANOTHER)


def report_arms(name: str) -> tuple[str, ...] | None:
    """The arms of experiment `name` its records read, one per recipe of RECIPE_ARMS that has
    one, for an experiment of BY_RECIPE; None for any other (read as the one results folder
    `name`)."""
    return tuple(r.arm for r in RECIPE_ARMS.values() if r.arm in A.arms_of(name)) if name in BY_RECIPE else None


def companions(name: str) -> tuple[str, ...]:
    """The results folders `load(name)` reads, in order: those of `report_arms(name)`, or `name`."""
    arms = report_arms(name)
    return (name,) if arms is None else A.arm_folders(name, arms)


def res(*names: str) -> str:
    """The data line of a record: its results folders."""
    return ", ".join(f"experiments/results/{n}" for n in names)


@lru_cache(maxsize=32)
def load(name: str, root: str) -> tuple[pd.DataFrame, pd.DataFrame] | None:
    """(runs, metrics) of experiment `name` (`analysis.load_arms`: every recipe's arm of it
    stacked, `report_arms`), or of the results folder `name`; None when none has results."""
    arms = report_arms(name)
    try:
        return A.load_results(name, root) if arms is None else A.load_arms(name, root, arms)
    except FileNotFoundError:
        return None


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


def paired_by_budget(wide: pd.DataFrame, a: str, b: str, label: str, budgets=None, scale: float = 1.0,
                     **kw) -> list[tuple[int, Condition]]:
    """Per steps_T of `wide` (those in `budgets`, or every one) where columns `a` and `b` are both
    measured: (T, the seed-paired a - scale * b as a Condition labelled "T = T: label"); `kw` go
    to the Condition (band, unit)."""
    out = []
    for T, g in wide.dropna(subset=[a, b]).groupby("steps_T"):
        if budgets is None or T in budgets:
            out.append((int(T), Condition.from_ci(f"T = {int(T):,}: {label}",
                                                  A.mean_ci((g[a] - scale * g[b]).to_numpy()), **kw)))
    return out
