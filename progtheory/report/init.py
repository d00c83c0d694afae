"""How new blocks start: P3, P4, P5, P13, P17 from `init_strategies` (both recipe arms, the
rewarmup 0 rows) as paired differences over seeds of the final gap (tolerance PARITY) or
the jump at tau (SPIKE_TOL); P3 adds the predicted loss change at tau, P4 and P17 add
`init_scale`'s s = 0 and s = 1/16 arms; P22, the init multiplier, from `init_scale`."""

from __future__ import annotations

from dataclasses import replace
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from progtheory import analysis as A
from progtheory.report import data
from progtheory.report.conditions import PARITY, SPIKE_TOL, paired, stays
from progtheory.report.data import FIG, companions, res
from progtheory.report.rule import Condition, Part, Record
from progtheory.theory.options import ZERO_TYPES

JOLTING = ("random", "copy", "copy_stack", "copy_inter", "copy_last")
CHANGE_FACTOR = 2.0  # predicted / measured loss change at tau of a jolting init (tests/train/test_init_prediction.py)
CHANGE_ZERO = 1e-3   # nats: the measured change of a function-preserving init (predicted 0)
# The best init multiplier by `experiments/init_scale.py`'s rule (the largest s whose predicted
# loss change at tau stays within SPIKE_TOL), as its docstring stated before any of its runs.
INIT_SCALE_BEST = {"random": 1.0, "copy": 0.25}


def _per_recipe(root: str, build) -> list[Record]:
    """`build(rows, recipe)` (a Record or None) on the rewarmup 0 rows of each recipe of
    `init_strategies`."""
    out = []
    for recipe, table in data.by_recipe(data.gap_table("init_strategies", root, spike=True)):
        rec = build(table[table.rewarmup == 0], recipe)
        if rec is not None:
            out.append(replace(rec, recipe=recipe, figure=FIG + "init_strategies.png", source=res("init_strategies")))
    return out


def p3_records(root: str) -> list[Record]:
    changes = expansion_changes(root)

    def build(plain, recipe):
        rec = spike_record(plain)
        mine = changes[changes.recipe == recipe] if len(changes) else changes
        return replace(rec, parts=rec.parts + (change_part(mine),))

    return _per_recipe(root, build)


def p4_records(root: str) -> list[Record]:
    return _per_recipe(root, lambda plain, recipe: _with_scale_part(dead_record(plain), root, recipe))


def p5_records(root: str) -> list[Record]:
    from progtheory.report.copies import p5_budget_part

    def build(plain, recipe):
        rec = copy_record(plain)
        part = p5_budget_part(root, recipe) if rec is not None else None
        return rec if part is None else replace(rec, parts=rec.parts + (part,))

    return _per_recipe(root, build)


def p13_records(root: str) -> list[Record]:
    return _per_recipe(root, lambda plain, recipe: variants_record(plain))


def p17_records(root: str) -> list[Record]:
    return _per_recipe(root, lambda plain, recipe: _with_scale_part(paradox_record(plain), root, recipe))


def _with_scale_part(rec: Record, root: str, recipe: str) -> Record:
    scale = scale_parts(root, recipe)
    return replace(rec, parts=rec.parts + (scale[rec.pid],)) if rec.pid in scale else rec


def records_at(plain: pd.DataFrame) -> list[Record]:
    """P3, P4, P5, P13, P17 of one recipe's rows (without the parts other experiments add); a
    grid without 2-layer sources says nothing of P13."""
    recs = [spike_record(plain), dead_record(plain), copy_record(plain), variants_record(plain), paradox_record(plain)]
    return [r for r in recs if r is not None]


@lru_cache(maxsize=4)
def expansion_changes(root: str) -> pd.DataFrame:
    """`analysis.expansion_change_scores` of the runs of the init, init-scale, jolt and mixing
    experiments (every source, init, multiplier and tau) that measured the change and could
    predict it."""
    frames = [A.expansion_change_scores(Path(root) / name)
              for name in companions("init_strategies") + ("init_scale", "jolt") + companions("mixing")]
    df = pd.concat([f for f in frames if len(f)], ignore_index=True) if any(len(f) for f in frames) else pd.DataFrame()
    return df[np.isfinite(df.measured) & np.isfinite(df.predicted)].drop_duplicates(["run_id", "step"]) if len(df) else df


def change_part(changes: pd.DataFrame) -> Part:
    """P3, reported: the loss change at tau predicted from the source's branch statistics
    (`theory.expansion.expansion_loss_change`) against the measured one, per init and init
    multiplier s (a multiplier 0 makes every init function-preserving): the ratio within
    xCHANGE_FACTOR, or, where the prediction is below CHANGE_ZERO nats (zero types, s = 0,
    small random blocks), the difference within +-CHANGE_ZERO."""
    conds = []
    for (init, scale), g in changes.groupby(["init", "init_scale"], sort=True) if len(changes) else ():
        label = init if scale == 1 else f"{init} s={scale:g}"
        if init in ZERO_TYPES or scale == 0:
            conds.append(Condition.from_ci(f"{label}: measured change (predicted 0)", A.mean_ci(g.measured),
                                           band_lo=-CHANGE_ZERO, band_hi=CHANGE_ZERO, unit="nats"))
        elif abs(g.predicted.mean()) < CHANGE_ZERO:  # a ratio of two near-zero numbers says nothing
            conds.append(Condition.from_ci(f"{label}: measured − predicted change (predicted < {CHANGE_ZERO:g})",
                                           A.mean_ci(g.measured - g.predicted),
                                           band_lo=-CHANGE_ZERO, band_hi=CHANGE_ZERO, unit="nats"))
        else:
            conds.append(Condition.from_ci(f"{label}: predicted / measured change", A.mean_ci(g.ratio),
                                           band_lo=1 / CHANGE_FACTOR, band_hi=CHANGE_FACTOR, unit="x"))
    note = "" if conds else "no run of this recipe measured the loss change at its growth step"
    return Part("the loss change at τ predicted from the source's branch statistics (every init and multiplier s "
                "of `init_strategies`, `init_scale`, `jolt` and `mixing`)", tuple(conds),
                tolerance=f"within ×{CHANGE_FACTOR:g} (random, copy); within ±{CHANGE_ZERO:g} nats where the prediction "
                          f"is below {CHANGE_ZERO:g} nats (zero types, s = 0, small random blocks)",
                judged=False, note=note)


def scale_parts(root: str, recipe: str) -> dict[str, Part]:
    """P4 and P17 parts from `init_scale` for one recipe, per (source, init): s = 0 (every new
    Linear weight 0, the all-zero block) ends worse than s = 1 (P4); the nearly
    function-preserving s = 1/16 ends no better than s = 1 by more than PARITY (P17)."""
    t = data.gap_table("init_scale", root)
    t = None if t is None else t[t.recipe == recipe] if "recipe" in t else t
    if t is None or t.empty:
        return {}
    dead, small = [], []
    for (source, init), g in t.groupby(["source", "init"], sort=True):
        arm = f"{int(source)}-layer {init}"
        dead.append(stays(f"{arm}: s=0 − s=1", paired(g, "scale", 0.0, 1.0)))
        small.append(Condition.from_ci(f"{arm}: s=1/16 − s=1", paired(g, "scale", 0.0625, 1.0), band_lo=-PARITY))
    return {"P4": Part("blocks started at s = 0 (all-zero weights) end worse than at s = 1 (`init_scale`)",
                       tuple(dead), tolerance="difference > +0.5%"),
            "P17": Part("measured, nearly function-preserving blocks (s = 1/16) end no better than s = 1 by more "
                        "than 0.5% (`init_scale`)", tuple(small), tolerance="difference ≥ −0.5%")}


def spike_record(plain: pd.DataFrame) -> Record:
    """P3: random/copy inits jump at tau by more than SPIKE_TOL, zero types do not; the spike
    of every spiking run decays within its t_mix."""
    jumps = {i: A.mean_ci(g.jump) for i, g in plain.groupby("init")}
    spike = tuple(Condition.from_ci(i, jumps[i], unit="nats",
                                    **(dict(band_lo=SPIKE_TOL) if i in JOLTING else dict(band_hi=SPIKE_TOL)))
                  for i in JOLTING + ZERO_TYPES if i in jumps)
    spiking = plain[plain.init.isin(JOLTING)]
    decayed = np.isfinite(spiking.recovery) & (spiking.recovery <= spiking.t_mix)  # t_mix = inf: if it decays at all
    share = float(decayed.mean()) if len(spiking) else np.nan
    decay = (Condition("spiking runs whose spike decays within t_mix", share, share, share, len(spiking),
                       band_lo=1.0, unit="share", exact=True),) if len(spiking) else ()
    recovery = spiking.groupby("init").recovery.median()
    return Record("P3", parts=(
        Part("random/copy inits spike at τ, zero-types do not", spike,
             tolerance=f"largest train-loss gap to the fixed run in the 10 steps from τ, over its pre-τ level: "
                       f"> {SPIKE_TOL} nats for random/copy, ≤ {SPIKE_TOL} for zero-types"),
        Part("the spike decays within t_mix", decay, tolerance="every spiking run")),
        detail=("on row τ alone, before any update (the function change, nats): "
                + ", ".join(f"{i} {v:.3f}" for i, v in plain.groupby("init").jump0.mean().items()),
                f"steps until the train-loss gap is back within {SPIKE_TOL} nats of its pre-τ level (median over "
                "seeds; ∞: it settles higher): " + ", ".join(f"{i} {v:.0f}" for i, v in recovery.items()),
                f"{int(np.isinf(spiking.t_mix).sum())} spiking runs never mix (t_mix = ∞)"))


def _versus_copy(plain: pd.DataFrame, arm: str) -> tuple:
    """arm − copy final gap over seeds, 1-layer source."""
    return paired(plain[plain.source == 1], "init", arm, "copy")


def dead_record(plain: pd.DataFrame) -> Record:
    """P4: all-zero blocks get no gradient (exact, from the tests); zero and copy_zero end worse
    than copy."""
    return Record("P4", parts=(
        Part("all-zero blocks get exactly zero gradient and stay zero (output biases: a constant shift)",
             (Condition("largest |gradient| of an all-zero block (tests/core/test_zero_gradient_model.py)", 0.0, 0.0, 0.0,
                        1, band_lo=0.0, band_hi=0.0, unit="", exact=True),),
             tolerance="exactly 0 (tests/core/test_growth.py, tests/core/test_zero_gradient_model.py)"),
        Part("zero and copy_zero end worse than copy (1-layer source)",
             tuple(stays(f"{a} − copy", _versus_copy(plain, a)) for a in ("zero", "copy_zero")),
             tolerance="difference > +0.5%")))


def copy_record(plain: pd.DataFrame) -> Record:
    """P5: random ends no better than copy by more than PARITY (1-layer source)."""
    return Record("P5", parts=(
        Part("random − copy final gap, 1-layer source",
             (Condition.from_ci("random − copy", _versus_copy(plain, "random"), band_lo=-PARITY),), tolerance="≥ −0.5%"),))


def variants_record(plain: pd.DataFrame) -> Record | None:
    """P13 on the 2-layer source: copy_last worse than copy_stack, copy_inter equal to it;
    None without 2-layer sources."""
    two = plain[plain.source == 2]
    if not len(two):
        return None
    return Record("P13", parts=(
        Part("copy_last ends worse than copy_stack (2-layer source)",
             (stays("copy_last − copy_stack", paired(two, "init", "copy_last", "copy_stack")),),
             tolerance="difference > +0.5%"),
        Part("copy_inter ≈ copy_stack (2-layer source)",
             (Condition.from_ci("copy_inter − copy_stack", paired(two, "init", "copy_inter", "copy_stack"),
                                band_lo=-PARITY, band_hi=PARITY),), tolerance="within ±0.5%")))


def paradox_record(plain: pd.DataFrame) -> Record:
    """P17: measured, no zero-type init beats copy by more than PARITY (1-layer source)."""
    ran = set(plain[plain.source == 1].init)
    return Record("P17", parts=(
        Part("measured, no zero-type init beats copy by more than 0.5% (1-layer source)",
             tuple(Condition.from_ci(f"{a} − copy", _versus_copy(plain, a), band_lo=-PARITY) for a in ZERO_TYPES
                   if a in ran),
             tolerance="difference ≥ −0.5%"),),
        detail=("the bound (`theory.bounds.progressive_gap`) favours function-preserving zero inits by "
                "construction: their teleport term vanishes",))


def p22_records(root: str) -> list[Record]:
    """P22 from `init_scale`, per recipe and (source, init): the paired difference over seeds
    of the final gap between the predicted best multiplier (INIT_SCALE_BEST) and each other
    multiplier; each holds when the predicted best ends no worse by more than PARITY."""
    out = []
    for recipe, t in data.by_recipe(data.gap_table("init_scale", root)):
        parts, lines = [], []
        for (source, init), g in t.groupby(["source", "init"], sort=True):
            best = INIT_SCALE_BEST.get(init)
            if best is None or not np.isclose(g.scale, best).any() or g.scale.nunique() < 2:
                continue  # no prediction for this init, or no other multiplier run yet
            conds = tuple(Condition.from_ci(f"s={best:g} − s={x:g}", paired(g, "scale", best, x), band_hi=PARITY)
                          for x in sorted(g.scale.unique()) if x != best)
            parts.append(Part(f"{int(source)}-layer source, {init}: the predicted best s = {best:g} ends no worse "
                              "than any other multiplier", conds,
                              tolerance=f"paired final-gap difference ≤ +{PARITY:.1%}"))
            means = g.groupby("scale").rel_gap.mean()
            lines.append(f"{int(source)}-layer {init}, final gap by s: "
                         + ", ".join(f"s={x:g} {v:+.1%}" for x, v in means.items())
                         + f"; measured best s = {means.idxmin():g}")
        if parts:
            out.append(Record("P22", parts=tuple(parts), recipe=recipe,
                              figure=FIG + "init_scale" + data.folders(recipe).suffix + ".png",
                              source=res("init_scale"), detail=tuple(lines)))
    return out
