"""P24: the copies' symmetry (`copy_symmetry`): do copied blocks stay alike, does breaking their
symmetry let the 1-layer gap shrink with budget, and does the constant drive of
`theory.copy_symmetry.separation` give the early separation (`analysis.copies`)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from progtheory import analysis as A
from progtheory.analysis import copies as CP
from progtheory.report.data import FIG, PAPER_RECIPE, res
from progtheory.report.rule import Condition, Part, Record

COS_MIN = 0.9          # (a): the copies' weight cosine stays above this
FALL_COPY = 1.0        # (b): the copy's gap falls by less than this (points) from T = 2,500 to 10,000
FALL_BROKEN = 2.0      # (b): the symmetry breakers' gaps fall by more than this
SEPARATION_K = 50      # (c): within x2 up to this many updates after tau ...
SEPARATION_FAIL_K = 1000  # ... and off by more than x2 at this one
EXPONENT_K = (50, 1000)   # reported: the window of the separation's growth exponent
BUDGETS = (2500, 10000)
BUDGETS_D32 = (10000, 40000)  # reported beside (b)
BREAKERS = (("copy_noise", 0.25), ("copy_mix", 0.5))


def _optimizer(recipe: str) -> str:
    """The label suffix naming the optimizer where it is not the paper's recipe."""
    return ", sp + AdamW" if recipe == "tuned" else ""


def _tag(r) -> str:
    """A run's condition label: d, T and seed, and the optimizer where it is not the paper's recipe."""
    return f"d={r.d}, T={r.steps_T:,}, seed {r.seed}" + _optimizer(r.recipe)


def _recipe_falls(runs: pd.DataFrame, budgets, d: int) -> pd.DataFrame:
    """`analysis.copies.gap_changes` between `budgets` under the paper's recipe at width d, tau = 0.8T."""
    falls = CP.gap_changes(runs, *budgets)
    return falls[(falls.recipe == "recipe") & (falls.d == d) & np.isclose(falls.tau, 0.8)]


def _alike(runs: pd.DataFrame, cos: pd.DataFrame) -> Part:
    table = cos.merge(runs, on="run_id")
    conds = [Condition(f"{_tag(r)}, copy: smallest cosine after {r.updates_end} updates",
                       r.cos_end_min, r.cos_end_min, r.cos_end_min, 1, band_lo=COS_MIN, unit="", exact=True)
             for r in table[table.init == "copy"].itertuples()]
    conds += [Condition(f"{_tag(r)}, copy_noise ε=1: largest cosine at τ",
                        r.cos_tau_max, r.cos_tau_max, r.cos_tau_max, 1, band_hi=COS_MIN, unit="", exact=True)
              for r in table[(table.init == "copy_noise") & (table.eps == 1.0)].itertuples()]
    return Part(f"copies stay alike (cosine > {COS_MIN:g} at the end); copy_noise ε = 1 starts below it",
                tuple(conds), tolerance=f"each pair and matrix type: cosine > {COS_MIN:g} (copy, end), "
                f"< {COS_MIN:g} (copy_noise ε = 1, at τ)", note="" if conds else "no probed copy run yet")


def _falls(runs: pd.DataFrame) -> Part:
    falls = _recipe_falls(runs, BUDGETS, 64)
    conds = []
    for init, eps in (("copy", 0.0),) + BREAKERS:
        f = falls[(falls.init == init) & np.isclose(falls.eps, eps)].fall
        if len(f):
            band = dict(band_hi=FALL_COPY) if init == "copy" else dict(band_lo=FALL_BROKEN)
            conds.append(Condition.from_ci(f"{init} ε={eps:g}: gap fall from T={BUDGETS[0]:,} to {BUDGETS[1]:,} (d = 64, "
                                           "τ = 0.8T, paired seeds)", A.mean_ci(f), unit="pp", **band))
    return Part("breaking the symmetry lets the 1-layer gap shrink with budget", tuple(conds),
                tolerance=f"copy: falls < {FALL_COPY:g} point; copy_noise ε = 1/4, copy_mix ε = 1/2: > {FALL_BROKEN:g}")


def _falls_d32(runs: pd.DataFrame) -> Part:
    """Reported: the gap's fall per init at d = 32 from T = 10,000 to 40,000 (tau = 0.8T, paired
    seeds), the ladder's budgets beside (b)'s d = 64 ones."""
    falls = _recipe_falls(runs, BUDGETS_D32, 32)
    conds = tuple(Condition.from_ci(f"{init} ε={eps:g}: gap fall from T={BUDGETS_D32[0]:,} to {BUDGETS_D32[1]:,} "
                                    "(d = 32, τ = 0.8T, paired seeds)", A.mean_ci(g.fall), unit="pp")
                  for (init, eps), g in falls.groupby(["init", "eps"]))
    return Part("the 1-layer gap's fall with budget per init at d = 32 (reported)", conds, judged=False,
                note="" if conds else "no d = 32 init measured at both budgets yet")


def _separation(runs: pd.DataFrame, scores: pd.DataFrame) -> Part:
    conds = []
    by_id = runs.set_index("run_id")
    for rid, g in scores.groupby("run_id"):
        r = by_id.loc[rid]
        early = np.abs(np.log2(g[g.k <= SEPARATION_K].ratio))
        late = np.abs(np.log2(g[g.k == SEPARATION_FAIL_K].ratio))
        tag = _tag(r)
        if len(early):
            conds.append(Condition(f"{tag}: worst |log2 predicted/measured|, k ≤ {SEPARATION_K}", early.max(),
                                   early.max(), early.max(), 1, band_hi=1.0, unit="", exact=True))
        if len(late):
            conds.append(Condition(f"{tag}: median |log2 predicted/measured| at k = {SEPARATION_FAIL_K}",
                                   late.median(), late.median(), late.median(), 1, band_lo=1.0, unit="", exact=True))
    return Part("the constant drive gives the separation within ×2 for 50 updates and fails by 1,000", tuple(conds),
                tolerance="|log2 ratio| ≤ 1 for k ≤ 50 (every pair, matrix, k); ≥ 1 at k = 1,000 (median)",
                note="" if conds else "no probed copy run yet")


def _exponents(runs: pd.DataFrame, scores: pd.DataFrame) -> Part:
    """Reported: per exact-copy run, the growth exponent of the copies' relative distance over
    EXPONENT_K (`analysis.copies.separation_exponents`) beside the constant drive's."""
    ex = CP.separation_exponents(scores, *EXPONENT_K).merge(runs, on="run_id")
    conds = tuple(Condition(f"{_tag(r)}: measured exponent (constant drive {r.predicted:.2f})", r.measured,
                            r.measured, r.measured, 1, unit="", exact=True) for r in ex.itertuples())
    return Part(f"how fast the copies separate: the log-log slope of ‖W_i − W_j‖ / ‖W_i‖ against k over "
                f"k ∈ [{EXPONENT_K[0]}, {EXPONENT_K[1]:,}], median over pairs and matrices (reported)", conds,
                judged=False, note="" if conds else "no probed copy run yet")


def _changes(root: str) -> Part:
    """Reported: the loss change at τ predicted from the source's branch statistics over the
    measured one, per init (`analysis.copies.expansion_changes`)."""
    t = CP.expansion_changes(root)
    t = t[t.ratio.notna()]
    conds = tuple(Condition.from_ci(f"d={d}, T={T:,}, τ={tau:g}T, {init}" + (f" ε={eps:g}" if eps else "")
                                    + _optimizer(recipe), A.mean_ci(g.ratio), unit="x")
                  for (recipe, d, T, tau, init, eps), g in t.groupby(["recipe", "d", "steps_T", "tau", "init", "eps"]))
    return Part("the loss change at τ, predicted from the source's branch statistics / measured (reported)", conds,
                judged=False, note="" if conds else "no grown run with a prediction yet")


RECIPE_TAGS = {"recipe": PAPER_RECIPE, "tuned": A.DEFAULT_RECIPE}  # copy_symmetry's recipe tag -> report recipe


def p5_budget_part(root: str, recipe: str) -> Part | None:
    """P5 per budget (reported): the 1-layer copy's final loss less the same source grown with
    random blocks, paired by seed, per (d, T, tau) of `copy_symmetry` under `recipe`; None when
    no pair is trained yet."""
    runs = CP.declared_runs(root)
    runs = runs[runs.recipe.map(RECIPE_TAGS) == recipe]
    key = ["d", "steps_T", "tau", "seed"]
    copy = runs[runs.init == "copy"].set_index(key).final_val_loss
    rand = runs[runs.init == "random"].set_index(key).final_val_loss
    both = copy.index.intersection(rand.index)
    if both.empty:
        return None
    diff = (copy.loc[both] - rand.loc[both]).groupby(level=["d", "steps_T", "tau"])
    conds = tuple(Condition.from_ci(f"d={d}, T={T:,}, τ={tau:g}T: copy − random (nats)", A.mean_ci(g), unit="nats")
                  for (d, T, tau), g in diff)
    return Part("per budget, the copy against random blocks on the same trained 1-layer source (copy_symmetry; "
                "reported)", conds, judged=False)


def p24_records(root: str) -> list[Record]:
    """P24's three parts from the runs trained so far (`analysis.copies`)."""
    folder = Path(root) / CP.EXPERIMENT
    if not (folder / "runs.csv").is_file():
        return []
    runs = CP.declared_runs(root)
    table = CP.symmetry_table(folder)
    scores = CP.separation_scores(table, runs)
    parts = (_alike(runs, CP.cosines(table)), _falls(runs), _falls_d32(runs), _separation(runs, scores),
             _exponents(runs, scores), _changes(root))
    return [Record("P24", parts=parts, recipe=PAPER_RECIPE, figure=FIG + "copy_symmetry.png",
                   source=res(CP.EXPERIMENT, *CP.SHARED_FOLDERS[1:]))]
