"""P1: the compute-savings formula against the FLOPs every mixing run counted and its wall time,
with the demo pair quoted beside."""

from __future__ import annotations

import json
from pathlib import Path

from progtheory import analysis as A
from progtheory import presets
from progtheory.report import data
from progtheory.report.data import FIG, res
from progtheory.report.rule import Condition, Part, Record, fmt

WALL_TOL = 0.25  # wall time vs the exact-FLOP prediction: the shared machine's timing noise
FLOP_TOL = 1e-3  # counted vs predicted FLOPs: both are exact counts


def p1_records(root: str) -> list[Record]:
    """P1 over every mixing run (`analysis.compute_accounting`): the counted FLOP ratio against
    the exact prediction, and the wall-time ratio against it; the demo pair quoted beside."""
    out = []
    for recipe, t in data.by_recipe(data.gap_table("mixing", root)):
        model = presets.default().model
        acc = A.compute_accounting(t, model, model.n_layer)
        flop = float((acc.flop_ratio / acc.pred_exact - 1).abs().max())
        wall = acc.wall_ratio / acc.pred_exact - 1
        parts = (
            Part("counted FLOPs equal the exact formula (attention and head included)",
                 (Condition("largest |counted / predicted − 1|", flop, flop, flop, len(acc), band_hi=FLOP_TOL,
                            exact=True),),
                 tolerance="≤ 0.1%"),
            Part(f"wall-time speed-up within ±{WALL_TOL:.0%} of the exact-FLOP prediction",
                 (Condition.from_ci("wall-time / predicted speed-up − 1", A.mean_ci(wall),
                                    band_lo=-WALL_TOL, band_hi=WALL_TOL),),
                 tolerance=f"±{WALL_TOL:.0%}, the shared machine's timing noise"),
        )
        detail = (f"{len(acc)} mixing runs; predicted speed-up (exact) {acc.pred_exact.min():.2f}x to "
                  f"{acc.pred_exact.max():.2f}x, 6N convention {acc.pred_6n.min():.2f}x to {acc.pred_6n.max():.2f}x",
                  f"wall-time ratio / prediction − 1: median {fmt(wall.median(), '+.0%')}, quartiles "
                  f"{fmt(wall.quantile(0.25), '+.0%')}, {fmt(wall.quantile(0.75), '+.0%')} (two sweeps shared 2 cores)",
                  "the exact count equals torch's FlopCounterMode (tests/core/test_theory_compute_model.py)")
        out.append(Record("P1", parts=parts, recipe=recipe, figure=FIG + "demo_progressive_vs_fixed.png",
                          source=res("mixing"), detail=detail + _demo_lines(root)))
    return out


def _demo_lines(root: str) -> tuple[str, ...]:
    """The demo pair (one run each), quoted beside P1."""
    from progtheory.config import from_run_json
    from progtheory.theory import compute

    demo = Path(root) / "demo"
    if not (demo / "demo.json").is_file():
        return ()
    r = A.compare_runs(demo / "fixed", demo / "progressive")
    cfg = from_run_json(json.loads((demo / "progressive" / "config.json").read_text()))
    pred = {c: compute.progressive_savings(cfg.model, cfg.growth.source_depth, [(r["tau"], cfg.model.n_layer)],
                                           cfg.steps, convention=c)["speedup"] for c in ("exact", "6N", "6N_nonembed")}
    return (f"demo (one run each, `experiments/results/demo`): predicted speed-up {pred['6N_nonembed']:.2f}x "
            f"(6N non-embedding), {pred['6N']:.2f}x (6N), {pred['exact']:.2f}x (exact); counted FLOP ratio "
            f"{r['flop_ratio']:.2f}x; wall-time ratio {r['wall_ratio']:.2f}x; final gap {fmt(r['relative_gap'], '+.1%')}",)
