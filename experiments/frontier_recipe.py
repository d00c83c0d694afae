"""The fixed-size compute frontier under the paper's recipe (P19 for `presets.recipe()`).

Question: how many FLOPs does the recipe's fixed 4-layer model need to reach a given final loss,
so that every progressive run of `mixing_recipe` gets its compute efficiency at equal loss?
Grid: full-schedule fixed runs of `presets.recipe()` (RECIPE_LR) at T in {250, 500, 1000, 2000,
4000} steps, WSD with each run's own warmup and decay, 3 seeds; built as `experiments/frontier.py`
builds the sp + AdamW frontier, so the runs at T = 2000 are `recipe_lr`'s runs at RECIPE_LR (the
same run ids) and are not trained again.  T = 8000 is left out: the progressive runs at T = 2000
end at or above the fixed T = 2000 loss except where they beat it, and T = 4000 bounds those.
"""

from dataclasses import replace

from progtheory import presets
from progtheory.sweep import Experiment, Run

SEEDS = (0, 1, 2)
STEPS = (250, 500, 1000, 2000, 4000)


def runs(smoke: bool) -> list[Run]:
    base = presets.smoke(presets.recipe()) if smoke else presets.recipe()
    steps_grid = (base.steps // 2, base.steps) if smoke else STEPS
    return [Run(dict(steps_T=T, tau=1.0, source=-1, seed=seed),
                replace(base, steps=T, seed=seed, ckpt_every=max(base.ckpt_every, T // 4)))
            for seed in (SEEDS[:1] if smoke else SEEDS) for T in steps_grid]


EXPERIMENT = Experiment(
    name="frontier_recipe",
    question="How many FLOPs does the recipe's fixed-depth model need to reach a given final loss?",
    predictions=("P19", "P20"),
    theory=("analysis.frontier_flops", "analysis.compute_efficiency"),
    runs=runs,
    scientific=("steps_T",),
    budget="15 runs, the 3 at T = 2000 already run by `recipe_lr`; T = 250, 500, 1000 take about 10 min per seed "
           "and T = 4000 about 20 min per seed on one CPU thread",
)
