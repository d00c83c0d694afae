"""Initialisation of new blocks under the paper's recipe: the core of `init_strategies` rerun
with `presets.recipe()` (P3, P4, P5, P17).

Question: with CompleteP, spectral init and Muon-NSGD, which init of the new blocks of a
1-layer source grown to 4 layers at tau = 0.5T recovers the fixed-depth loss best, and how
large is the jump at tau?  Under Muon every fresh matrix moves by a fixed spectral norm per
step whatever its scale, where Adam moves every coordinate by about the LR, so the ordering of
the inits need not carry over from the AdamW arm.  Random growth draws the new blocks at the
recipe's own spectral init (`GPT.init_block`).
"""

from dataclasses import replace

from progtheory import presets
from progtheory.config import GrowthPlan
from progtheory.sweep import Experiment, Run

SEEDS = (0, 1, 2)
TAU = 0.5
INITS = ("random", "copy", "zero", "copy_zero")


def runs(smoke: bool) -> list[Run]:
    base = presets.smoke(presets.recipe()) if smoke else presets.recipe()
    out = []
    for seed in SEEDS[:1] if smoke else SEEDS:
        cfg = replace(base, seed=seed)
        out.append(Run(dict(source=-1, init="fixed", rewarmup=0, tau=1.0, seed=seed), cfg))
        for init in INITS[:2] if smoke else INITS:
            plan = GrowthPlan(source_depth=1, stages=((TAU, cfg.model.n_layer),), init=init)
            out.append(Run(dict(source=1, init=init, rewarmup=0, tau=TAU, seed=seed), replace(cfg, growth=plan)))
    return out


EXPERIMENT = Experiment(
    name="init_recipe",
    question="Under the paper's recipe, which init of the new blocks recovers the fixed-depth loss best?",
    predictions=("P3", "P4", "P5", "P17"),
    theory=("theory.init_scale.expansion_function_change", "theory.dead_gradients.gradient_vanishes"),
    runs=runs,
    scientific=("source", "init", "rewarmup"),
    budget="15 runs (the fixed runs are those of mixing_recipe); about 25 min per seed on 2 CPU cores",
)
