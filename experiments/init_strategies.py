"""Initialisation of new blocks: the loss spike at tau, dead zero blocks, copy vs random,
and the copy variants for deeper sources (P3, P4, P5, P13, P17).

Question: which init of the new blocks recovers the fixed-depth loss best, and how large is
the loss jump right after the expansion?  Theory (`theory.init_scale`, `dead_gradients`,
`jolt`): zero-type inits preserve the function (no jump), all-zero blocks stay dead, random
and copy inits jump, and with fresh Adam state every new coordinate moves by ~lr in the first
steps (`adam_first_step_jolt`), which an LR ramp for new parameters only (`rewarmup_steps`)
should soften.  The bound (`theory.bounds.progressive_gap`) favours zero init; P17 asks
whether the measurement agrees.  tau = 0.5T under WSD, so that there is time to mix.
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


def runs(smoke: bool) -> list[Run]:
    base = presets.tiny() if smoke else presets.tuned()
    arms = ARMS[:2] + ARMS[6:7] if smoke else ARMS
    out = []
    for seed in SEEDS[:1] if smoke else SEEDS:
        cfg = replace(base, seed=seed)
        out.append(Run(dict(source=-1, init="fixed", rewarmup=0, tau=1.0, seed=seed), cfg))
        for source, init, rewarmup in arms:
            source = min(source, cfg.model.n_layer - 1)  # the smoke model has only 2 layers
            plan = GrowthPlan(source_depth=source, stages=((TAU, cfg.model.n_layer),), init=init,
                              placement="interleave" if init == "copy_inter" else "end",
                              rewarmup_steps=min(rewarmup, cfg.steps // 10))
            out.append(Run(dict(source=source, init=init, rewarmup=plan.rewarmup_steps, tau=TAU, seed=seed),
                           replace(cfg, growth=plan)))
    return out


EXPERIMENT = Experiment(
    name="init_strategies",
    question="Which init of the new blocks recovers the fixed-depth loss best, and how big is the jump at tau?",
    predictions=("P3", "P4", "P5", "P13", "P17"),
    theory=("theory.init_scale.expansion_function_change", "theory.jolt.adam_first_step_jolt",
            "theory.dead_gradients.gradient_vanishes", "theory.bounds.progressive_gap"),
    runs=runs,
    scientific=("source", "init", "rewarmup"),
    budget="30 runs; about 45 min per seed on 2 idle CPU cores (fixed ~4 min, progressive ~3 min)",
)
