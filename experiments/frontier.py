"""Fixed-size compute frontier: the loss a fixed-depth model reaches for each compute budget.

Question: how many FLOPs does fixed-depth training need to reach the final loss of a
progressive run?  The ratio of those FLOPs to the progressive run's own is its compute
efficiency at equal loss (P19; the paper's v2 reports 3-5x at 0.25-2B parameters).  Grid:
full-schedule fixed runs at T in {250, 500, 1000, 2000, 4000, 8000} steps, WSD with each run's
own warmup and decay, the `tuned` preset, 3 seeds.  The configs are built exactly as in
`experiments/budget.py`, so the runs at T = 2000, 4000, 8000 have the same run ids as the fixed
runs `budget` (and, at T = 2000, `mixing` at the tuned LR) already hold and are not trained
again; T = 250, 500, 1000 are new.
"""

from dataclasses import replace

from progtheory import presets
from progtheory.sweep import Experiment, Run

SEEDS = (0, 1, 2)
STEPS = (250, 500, 1000, 2000, 4000, 8000)


def runs(smoke: bool) -> list[Run]:
    base = presets.tiny() if smoke else presets.tuned()
    steps_grid = (base.steps // 2, base.steps) if smoke else STEPS
    return [Run(dict(steps_T=T, tau=1.0, source=-1, seed=seed),
                replace(base, steps=T, seed=seed, ckpt_every=max(base.ckpt_every, T // 4)))
            for seed in (SEEDS[:1] if smoke else SEEDS) for T in steps_grid]


EXPERIMENT = Experiment(
    name="frontier",
    question="How many FLOPs does fixed-depth training need to reach a given final loss?",
    predictions=("P19", "P20"),
    theory=("analysis.frontier_flops", "analysis.compute_efficiency"),
    runs=runs,
    scientific=("steps_T",),
    budget="18 runs, 9 of them declared by `budget` too (8 already run there); the new ones (T = 250, 500, 1000) take about 9 min "
           "per seed on 2 idle CPU cores",
)
