"""Fixed-size compute frontier: the loss a fixed-depth model reaches for each compute budget,
under sp + AdamW and under the paper's recipe.

Question: how many FLOPs does fixed-depth training need to reach the final loss of a
progressive run?  The ratio of those FLOPs to the progressive run's own is its compute
efficiency at equal loss (P19; the paper's v2 reports 3-5x at 0.25-2B parameters), so every
progressive run of `mixing` gets its efficiency against the frontier of its own recipe.  Grid:
full-schedule fixed runs at T steps, WSD with each run's own warmup and decay, 3 seeds.

Arms (the tag `recipe`; each arm's tables in its own results folder):
  sp-adamw  `presets.tuned()` at T in {250, 500, 1000, 2000, 4000, 8000}
            -> experiments/results/frontier.  The configs are built exactly as in
            `experiments/budget.py`, so the runs at T = 2000, 4000, 8000 have the same run ids
            as the fixed runs `budget` (and, at T = 2000, `mixing` at the tuned LR) already hold
            and are not trained again; T = 250, 500, 1000 are new.
  recipe    `presets.recipe()` (RECIPE_LR) at T in {250, 500, 1000, 2000, 4000}
            -> experiments/results/frontier_recipe.  The runs at T = 2000 are `recipe_lr`'s runs
            at RECIPE_LR (the same run ids) and are not trained again.  T = 8000 is left out: the
            progressive runs at T = 2000 end at or above the fixed T = 2000 loss except where
            they beat it, and T = 4000 bounds those.
"""

from dataclasses import replace

from progtheory import presets
from progtheory.sweep import Experiment, Run

SEEDS = (0, 1, 2)
# recipe -> (preset, its smoke variant, the budgets T)
RECIPES = {
    "sp-adamw": (presets.tuned, presets.tiny, (250, 500, 1000, 2000, 4000, 8000)),
    "recipe": (presets.recipe, lambda: presets.smoke(presets.recipe()), (250, 500, 1000, 2000, 4000)),
}
RESULTS = {"sp-adamw": "frontier", "recipe": "frontier_recipe"}


def runs(smoke: bool) -> list[Run]:
    out = []
    for recipe, (make, make_smoke, steps) in RECIPES.items():
        base = make_smoke() if smoke else make()
        steps_grid = (base.steps // 2, base.steps) if smoke else steps
        out += [Run(dict(recipe=recipe, steps_T=T, tau=1.0, source=-1, seed=seed),
                    replace(base, steps=T, seed=seed, ckpt_every=max(base.ckpt_every, T // 4)))
                for seed in (SEEDS[:1] if smoke else SEEDS) for T in steps_grid]
    return out


EXPERIMENT = Experiment(
    name="frontier",
    question="How many FLOPs does fixed-depth training need to reach a given final loss, under sp + AdamW and "
             "under the paper's recipe?",
    predictions=("P19", "P20"),
    theory=("analysis.frontier_flops", "analysis.compute_efficiency"),
    runs=runs,
    scientific=("recipe", "steps_T"),
    budget="33 runs: sp-adamw 18, 9 of them declared by `budget` too (8 already run there), the new ones "
           "(T = 250, 500, 1000) about 9 min per seed on 2 idle CPU cores; recipe 15, the 3 at T = 2000 already run "
           "by `recipe_lr`, T = 250, 500, 1000 about 10 min per seed and T = 4000 about 20 min per seed on one "
           "CPU thread",
    arms=RESULTS,
)
