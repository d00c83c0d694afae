"""The LR across shapes: P14 (the optimum's depth exponent, from `lr_transfer` and the CPU
calibration of `lr_transfer_cpu`) and P21 (the calibrated rule lr* = c L^e w^f scored on the
held-out shapes of `lr_transfer_cpu`)."""

from __future__ import annotations

import json
from dataclasses import replace
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from progtheory import analysis as A
from progtheory.report import data
from progtheory.report.data import FIG, PAPER_RECIPE, res
from progtheory.report.rule import Condition, Part, Record

EXPONENT_TOL = 1 / 3  # in lr* ~ L^e: over depths 1..8 a slope error of 1/3 moves lr* by 2x, one grid step


# ----------------------------------------------------------------------------- P14

def p14_records(root: str) -> list[Record]:
    """P14 from `lr_transfer`: the slope e in lr* ~ L^e of each (recipe, width), in base-LR
    units.  The paper's claim (transfer, |e| ≤ EXPONENT_TOL) is judged on the runs of its
    recipe (PAPER_RECIPE) only; sp and any other recipe are reported with their measured
    exponent.  An optimum at the grid edge is only a bound, so a group with one has no
    interval."""
    loaded = data.load("lr_transfer", root)
    cpu = cpu_calibrations(root)
    if (loaded is None or loaded[0].empty) and not cpu:
        return [Record("P14", recipe=PAPER_RECIPE)]  # open
    runs = loaded[0] if loaded is not None else pd.DataFrame(columns=["recipe", "depth", "lr", "final_val_loss"])
    by = ["recipe", "width"] if "width" in runs else ["recipe"]
    optima = A.lr_optima(runs, by + ["depth"]) if len(runs) else pd.DataFrame(columns=by + ["depth"])
    parts, lines = _exponents(runs, optima, by)
    for recipe, cal in cpu.items():
        parts.setdefault(recipe, []).append(_cpu_exponent(cal))
        lines.append(f"{recipe}, CPU (`lr_transfer_cpu`): {cal.summary()}")
    judged = Part(f"under {PAPER_RECIPE}: the LR optimum transfers across depth", tuple(parts.pop(PAPER_RECIPE, ())),
                  tolerance=f"|e| ≤ {EXPONENT_TOL:.2f} (one 2x grid step over L = 1..8)",
                  note="" if PAPER_RECIPE in set(optima.recipe) | set(cpu)
                  else "not yet measured: no lr_transfer runs with this recipe")
    reported = tuple(Part(f"{recipe}: measured exponent (reported, not the paper's claim)", tuple(cs),
                          tolerance=f"|e| ≤ {EXPONENT_TOL:.2f} would be transfer", judged=False)
                     for recipe, cs in parts.items())
    head = ()
    if len(runs):
        device = ", ".join(sorted(runs.device.dropna().unique())) if "device" in runs else "?"
        head = (f"`lr_transfer`: lr* ~ L^e in base-LR units ({device}, bf16 autocast)",)
    sources = ("lr_transfer",) * bool(len(runs)) + ("lr_transfer_cpu",) * bool(cpu)
    return [Record("P14", parts=(judged,) + reported, recipe=PAPER_RECIPE, figure=FIG + "lr_optimum_vs_depth.png",
                   source=res(*sources), detail=head + tuple(lines))]


def _exponents(runs: pd.DataFrame, optima: pd.DataFrame, by: list[str]) -> tuple[dict, list[str]]:
    """recipe -> the exponent conditions of its widths in `lr_transfer`, and a line per group
    listing its optima."""
    parts, lines = {}, []
    for key, g in optima.groupby(by, sort=True):
        recipe, width = (key if isinstance(key, tuple) else (key, None))[:2]
        g = g.sort_values("depth")
        edges = int(g.at_edge.sum())
        tag = f"{recipe}" + (f", width {width}" if width is not None else "")
        c = Condition(f"{tag}: e" + (f" ({edges} of {len(g)} optima at the grid edge)" if edges else ""), *A.exponent_ci(g),
                      band_lo=-EXPONENT_TOL, band_hi=EXPONENT_TOL, unit="")
        parts.setdefault(recipe, []).append(replace(c, n=0) if edges else c)
        bound = (lambda r: "" if not r.at_edge else "≤" if r.lr_best == runs.lr.min() else "≥")
        lines.append(f"{tag}: optima " + ", ".join(f"L{int(r.depth)} {bound(r)}{r.lr_opt:.2g}" for r in g.itertuples())
                     + f"; seeds {int(g.n_seeds.min())}–{int(g.n_seeds.max())}")
    return parts, lines


# ----------------------------------------------------------------------------- P14 and P21 on CPU

def _cpu_design(root: str) -> dict | None:
    folder = Path(root) / "lr_transfer_cpu"
    if not (folder / "runs.csv").is_file():
        return None
    return json.loads((folder / "experiment.json").read_text())["design"]


@lru_cache(maxsize=None)
def cpu_fits(root: str) -> dict:
    """recipe -> (calibration fitted on the fit shapes, held-out scores) or the reason there is
    none, from `lr_transfer_cpu` at its design length; recipes read from the runs' configs."""
    from progtheory.theory import lr_calibration as LC

    design = _cpu_design(root)
    if design is None:
        return {}
    folder = Path(root) / "lr_transfer_cpu"
    recipes = A.run_recipes(folder / "provenance.jsonl")
    rows = LC.read_runs(folder, steps=design["steps"])
    out = {}
    for arm in sorted({r["arm"] for r in rows}):
        arm_rows = [r for r in rows if r["arm"] == arm]
        names = {recipes.get(r["run_id"], "?") for r in arm_rows}
        recipe = names.pop() if len(names) == 1 else f"{arm} (mixed recipes)"
        try:
            out[recipe] = LC.fit_and_score(arm_rows, design["held_out"])
        except ValueError as e:
            out[recipe] = str(e)
    return out


def cpu_calibrations(root: str) -> dict:
    return {recipe: fit[0] for recipe, fit in cpu_fits(root).items() if not isinstance(fit, str)}


def _cpu_exponent(cal) -> Condition:
    """The depth exponent of a CPU calibration as a P14 condition; unknown (n = 0) while any
    fit shape's optimum is not located in every seed (a grid edge is a bound, not a measurement)."""
    lo, hi = cal.exponent_interval("e") if len(cal.boot) >= 2 else (np.nan, np.nan)
    flagged = len(cal.flagged)
    label = f"CPU widths {'/'.join(map(str, cal.widths))}: e" + (
        f" ({flagged} of {len(cal.optima)} per-seed optima not located)" if flagged else "")
    return Condition(label, cal.e, lo, hi, 0 if flagged else len(cal.seeds),
                     band_lo=-EXPONENT_TOL, band_hi=EXPONENT_TOL, unit="")


def p21_records(root: str) -> list[Record]:
    """P21: per recipe of `lr_transfer_cpu`, lr* = c L^e w^f fitted on the fit shapes
    (`fit_lr_transfer`) predicts the optimum at the held-out shapes: predicted / measured with
    its bootstrap interval must lie within [1/1.3, 1.3] at every held-out shape
    (`score_held_out`); a shape whose optimum is not located in any seed is unknown.  The
    length check (one shape, seed 0, 1x and 2x the steps) is quoted beside."""
    from progtheory.theory import lr_calibration as LC

    design = _cpu_design(root)
    if design is None:
        return []
    target = LC.HELD_OUT_TARGET
    claim = "the fitted rule predicts every held-out optimum"
    tolerance = f"predicted / measured within ×{target} (about one ×√2 grid step)"
    records = []
    for recipe, fit in cpu_fits(root).items():
        if isinstance(fit, str):
            part = Part(claim, tolerance=tolerance, note=f"not fitted: {fit}", undecided=True)
            records.append(Record("P21", parts=(part,), recipe=recipe, source=res("lr_transfer_cpu")))
            continue
        cal, scores = fit
        conds = tuple(Condition(f"L{s['depth']} w{s['width']}" + (f" ({s['flags']})" if s["flags"] else ""),
                                s["ratio"], s["ratio_lo"], s["ratio_hi"], s["n"],
                                band_lo=1 / target, band_hi=target, unit="x") for s in scores)
        records.append(Record("P21", parts=(Part(claim, conds, tolerance=tolerance),), recipe=recipe,
                              figure=FIG + "lr_transfer_cpu_held_out.png", source=res("lr_transfer_cpu"),
                              detail=_held_out_lines(root, design, recipe, cal, scores)))
    return records


def _held_out_lines(root: str, design: dict, recipe: str, cal, scores: list[dict]) -> tuple[str, ...]:
    """The fit, each held-out shape's predicted and measured optimum, and the length check."""
    lines = [f"fit on {len(design['fit'])} shapes (depth, width) {', '.join(f'({d}, {w})' for d, w in design['fit'])}, "
             f"{design['steps']} steps: {cal.summary()}"]
    lines += [f"L{s['depth']} w{s['width']}: predicted {s['predicted']:.3g}, measured {s['measured']:.3g} "
              f"[{s['measured_lo']:.3g}, {s['measured_hi']:.3g}] (n={s['n']})" for s in scores]
    lines += _length_lines(root, design, recipe)
    if recipe == A.DEFAULT_RECIPE:  # sp + AdamW: what `predict_lr` does off the base width
        lines.append(f"`predict_lr` has no width rule under sp + AdamW: this sweep's fitted width exponent "
                     f"({cal.f:+.2f}) comes from {design['steps']}-step runs whose optimum still moves with run "
                     "length, so off the base width it raises and points to `fit_lr_transfer`")
    return tuple(lines)


def _length_lines(root: str, design: dict, recipe: str) -> list[str]:
    """The optimum at the length-check shape (seed 0) at 1x and 2x the design steps."""
    from progtheory.theory import lr_calibration as LC

    folder = Path(root) / "lr_transfer_cpu"
    recipes = A.run_recipes(folder / "provenance.jsonl")
    depth, width = design["length_check"]
    found = []
    for steps in (design["steps"], 2 * design["steps"]):
        rows = [r for r in LC.read_runs(folder, steps=steps, seed=0, depth=depth, width=width)
                if recipes.get(r["run_id"]) == recipe]
        optima = LC.find_optima(rows) if rows else []
        if not optima:
            return [f"length check (L{depth} w{width}, seed 0): {steps} steps not run yet"]
        (o,) = optima
        found.append(f"{steps} steps {'≈' if o.found else ''}{o.lr_opt:.3g}" + (f" ({o.flag})" if o.flag else ""))
    return [f"length check (L{depth} w{width}, seed 0), optimum: " + ", ".join(found)]
