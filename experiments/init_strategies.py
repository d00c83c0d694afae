"""Initialisation of new blocks: the loss spike at tau, dead zero blocks, copy vs random,
and the copy variants for deeper sources, under sp + AdamW and under the paper's recipe
(P3, P4, P5, P13, P17).

Question: which init of the new blocks recovers the fixed-depth loss best, and how large is
the loss jump right after the expansion?  Theory (`theory.init_scale`, `dead_gradients`,
`jolt`): zero-type inits preserve the function (no jump), all-zero blocks stay dead, random
and copy inits jump, and with fresh Adam state every new coordinate moves by ~lr in the first
steps (`adam_first_step_jolt`), which an LR ramp for new parameters only (`rewarmup_steps`)
should soften.  The bound (`theory.bounds.progressive_gap`) favours zero init; P17 asks
whether the measurement agrees.  tau = 0.5T under WSD, so that there is time to mix.

Arms (the tag `recipe`; each arm's tables in its own results folder):
  sp-adamw  `presets.tuned()`: every init below -> experiments/results/init_strategies
  recipe    `presets.recipe()` (CompleteP, spectral init, Muon-NSGD): the core of the grid, the
            1-layer source's random, copy, zero and copy_zero -> experiments/results/init_recipe
Under Muon every fresh matrix moves by a fixed spectral norm per step whatever its scale, where
Adam moves every coordinate by about the LR, so the ordering of the inits need not carry over
from the AdamW arm.  Random growth draws the new blocks at the recipe's own spectral init
(`GPT.init_block`).
"""

from dataclasses import replace

from progtheory import presets
from progtheory.config import GrowthPlan
from progtheory.sweep import Experiment, Run

SEEDS = (0, 1, 2)
TAU = 0.5
# (source depth, init, rewarmup steps)
ARMS = (
    (1, "random", 0), (1, "copy", 0), (1, "zero", 0), (1, "copy_zero", 0), (1, "random_zero_out", 0),
    (1, "random", 100),
    (2, "copy_stack", 0), (2, "copy_inter", 0), (2, "copy_last", 0),
)
# recipe -> (preset, its smoke variant, its growths, those of the smoke variant)
RECIPES = {
    "sp-adamw": (presets.tuned, presets.tiny, ARMS, ARMS[:2] + ARMS[6:7]),
    "recipe": (presets.recipe, lambda: presets.smoke(presets.recipe()), ARMS[:4], ARMS[:2]),
}
RESULTS = {"sp-adamw": "init_strategies", "recipe": "init_recipe"}


def runs(smoke: bool) -> list[Run]:
    out = []
    for recipe, (make, make_smoke, arms, smoke_arms) in RECIPES.items():
        base = make_smoke() if smoke else make()
        for seed in SEEDS[:1] if smoke else SEEDS:
            cfg = replace(base, seed=seed)
            out.append(Run(dict(recipe=recipe, source=-1, init="fixed", rewarmup=0, tau=1.0, seed=seed), cfg))
            for source, init, rewarmup in smoke_arms if smoke else arms:
                source = min(source, cfg.model.n_layer - 1)  # the smoke model has only 2 layers
                plan = GrowthPlan(source_depth=source, stages=((TAU, cfg.model.n_layer),), init=init,
                                  placement="interleave" if init == "copy_inter" else "end",
                                  rewarmup_steps=min(rewarmup, cfg.steps // 10))
                out.append(Run(dict(recipe=recipe, source=source, init=init, rewarmup=plan.rewarmup_steps, tau=TAU,
                                    seed=seed), replace(cfg, growth=plan)))
    return out


EXPERIMENT = Experiment(
    name="init_strategies",
    question="Which init of the new blocks recovers the fixed-depth loss best, and how big is the jump at tau, "
             "under sp + AdamW and under the paper's recipe?",
    predictions=("P3", "P4", "P5", "P13", "P17"),
    theory=("theory.init_scale.expansion_function_change", "theory.jolt.adam_first_step_jolt",
            "theory.dead_gradients.gradient_vanishes", "theory.bounds.progressive_gap"),
    runs=runs,
    scientific=("recipe", "source", "init", "rewarmup"),
    budget="45 runs: sp-adamw 30, about 45 min per seed on 2 idle CPU cores (fixed ~4 min, progressive ~3 min); "
           "recipe 15 (its fixed runs are those of mixing's recipe arm), about 25 min per seed on 2 CPU cores",
    arms=RESULTS,
)
