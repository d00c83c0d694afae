"""Init scale of new blocks: random and copy inits at {0, 1/16, 1/4, 1, 4} x the
parametrization's own scale (`GrowthPlan.init_scale`: every Linear weight and bias of each new
block times the multiplier, LayerNorms kept), 0- and 1-layer sources grown to 4 layers at
tau = 0.5T, under sp + AdamW (`presets.tuned()`) and the paper's recipe (`presets.recipe()`:
CompleteP, spectral init, Muon-NSGD); 3 seeds.  Measured: jump0 and jump at tau
(`analysis.mixing_table(spike=True)`), the head start after tau and the final gap.

Question: at what scale should new blocks start, under a given parametrization and optimizer,
to learn fastest without a spike?

Prediction, stated before any run (theory.init_scale, theory.jolt):
  * Function change at tau (`expansion_loss_change`): for random blocks the loss change grows
    as s^4 (each branch is a product of two matrices of std proportional to s, then the
    readout's Fisher trace); at s <= 1 it is far below the 0.05-nat spike tolerance on a
    trained stream, at s = 4 it is 256x the s = 1 value.  For copies it grows with s from 0
    (s = 0: a dead block) to the full copy change at s = 1 (1.44 nats measured in
    init_strategies for the 1-layer copy).
  * First updates (`theory.jolt`): AdamW moves every fresh coordinate by ~lr whatever s, so at
    s = 1/16 (std 1.25e-3 ~ lr = 1.5e-3) the first step already outweighs the init and
    s in {1/16, 1/4, 1} behave alike after a few steps; Muon moves each fresh matrix by lr *
    sqrt(fan_out/fan_in) in spectral norm, 1% of the spectral init's norm at lr = 1e-2, so
    under the recipe the init scale persists longer and small s stays small for ~1/(lr) steps.
  * s = 0 makes every Linear weight 0 with LayerNorm gains 1: as for the `zero` init, every
    weight gets exactly zero gradient (`gradient_vanishes`), so the blocks stay dead apart
    from their output biases and the run ends near its source's depth.
  * Rule: the best scale is the largest s > 0 whose predicted loss change at tau stays below
    the spike tolerance (0.05 nats); predicted best: random s = 1 under both recipes (s = 1/4
    within noise under AdamW, worse under Muon), copy s = 1/4 (the full copy jumps).
    s = 0 and s = 4 are predicted worst for random.  Scored after the runs with the report's
    decision rule.
"""

from dataclasses import replace

from progtheory import presets
from progtheory.config import GrowthPlan
from progtheory.sweep import Experiment, Run

SEEDS = (0, 1, 2)
TAU = 0.5
SCALES = (0.0, 0.0625, 0.25, 1.0, 4.0)
RECIPES = {"tuned": presets.tuned, "recipe": presets.recipe}
# (source depth, init)
ARMS = ((0, "random"), (1, "random"), (1, "copy"))


def runs(smoke: bool) -> list[Run]:
    out = []
    for recipe, make in RECIPES.items():
        base = presets.smoke(make()) if smoke else make()
        for seed in SEEDS[:1] if smoke else SEEDS:
            cfg = replace(base, seed=seed)
            out.append(Run(dict(recipe=recipe, source=-1, init="fixed", scale=1.0, tau=1.0, seed=seed), cfg))
            for source, init in ARMS[1:] if smoke else ARMS:
                for scale in SCALES[2:4] if smoke else SCALES:
                    plan = GrowthPlan(source_depth=source, stages=((TAU, cfg.model.n_layer),), init=init,
                                      init_scale=scale)
                    out.append(Run(dict(recipe=recipe, source=source, init=init, scale=scale, tau=TAU, seed=seed),
                                   replace(cfg, growth=plan)))
    return out


EXPERIMENT = Experiment(
    name="init_scale",
    question="At what scale should new blocks start, per parametrization and optimizer, to learn fastest without a spike?",
    predictions=("P3", "P4", "P17", "P22"),
    theory=("theory.expansion.expansion_loss_change", "theory.expansion.fresh_branch_variance",
            "theory.jolt.jolt_curve", "theory.jolt.rewarmup_for_jolt", "theory.dead_gradients.gradient_vanishes"),
    runs=runs,
    scientific=("recipe", "source", "init", "scale"),
    budget="96 runs (2 recipes x 3 seeds x (1 fixed + 15 progressive)); about 5 h on 2 idle CPU cores",
)
