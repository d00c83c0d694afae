"""The depth rule of the paper's recipe: CompleteP (alpha = 1) or depth-muP (alpha = 1/2)?

Question: under the recipe (`presets.recipe`: muP family, spectral init, Muon-NSGD, one LR
before and after the expansion, base depth 1), which residual exponent gives the lower final
loss, for the fixed 4-layer model and for a 1-layer copy source grown to 4 layers at
tau = 0.5T?  With Muon the per-group LR follows (L/L0)^(alpha-1)
(`theory.parametrization.lr_multipliers`): constant under CompleteP, so the LR really is the
same before and after the expansion, as the paper has it; under depth-muP the hidden LR halves
at 1 -> 4.  Pilot at one LR (1e-2) and one seed, to choose the rule the recipe's
LR sweep and progressive experiments use; the LR sweep then tunes the chosen rule.
"""

from dataclasses import replace

from progtheory import presets
from progtheory.config import GrowthPlan
from progtheory.sweep import Experiment, Run

PARAMETRIZATIONS = ("completep", "depth-mup")
LR = 1e-2
SEEDS = (0,)


def runs(smoke: bool) -> list[Run]:
    base = presets.recipe()
    if smoke:
        base = presets.smoke(base)
    out = []
    for seed in SEEDS:
        for par in PARAMETRIZATIONS:
            cfg = replace(base, model=replace(base.model, parametrization=par), lr=LR, seed=seed)
            out.append(Run(dict(parametrization=par, source=-1, seed=seed), cfg))
            plan = GrowthPlan(source_depth=1, stages=((0.5, cfg.model.n_layer),), init="copy")
            out.append(Run(dict(parametrization=par, source=1, seed=seed), replace(cfg, growth=plan)))
    return out


EXPERIMENT = Experiment(
    name="recipe_alpha",
    question="Under the paper's recipe, does CompleteP or depth-muP give the lower final loss?",
    predictions=("P14",),
    theory=("theory.parametrization.residual_multiplier", "theory.parametrization.lr_multipliers"),
    runs=runs,
    scientific=("parametrization", "source"),
    budget="4 runs (2 fixed, 2 progressive at 0.5T); about 20 min on 2 CPU cores",
)
