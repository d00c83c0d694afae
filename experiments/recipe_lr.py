"""The tuned baseline of the paper's recipe: an LR sweep of `presets.recipe()` at the default size.

Question: where is the optimum peak LR of the fixed 4-layer model under the recipe (CompleteP,
spectral init, Muon-NSGD, WSD)?  Its progressive runs use the same LR before and after the
expansion, so a progressive run compared with an under-tuned baseline would prove nothing.
Grid: x sqrt(2) steps, 2.5e-3 to 1e-2 for every seed (LRS, 5 LRs).  Seed 0 was trained first
upward from 1e-2, on the guess that CompleteP's 1/L branch multiplier moves the optimum above
the 1e-2 that suits muP without a depth rule; the loss rose sharply instead (1.488 at 1e-2,
2.394 at 1.4e-2, 2.471 at 2e-2, divergence at 2.8e-2 and 4e-2) and kept falling downward
(1.458 at 7.1e-3, 1.452 at 5e-3, 1.448 at 3.5e-3), so the grid was extended twice downward;
the upper points stay as seed 0's check (ABOVE_SEED0).  Every seed's optimum lies at 3.5e-3,
one grid step inside both ends (seed 1: 1.432, 1.424, 1.431 at 2.5e-3, 3.5e-3, 5e-3; seed 2:
1.465, 1.462, 1.466), so no seed needs the grid extended; `presets.RECIPE_LR` is that optimum.
"""

import math
from dataclasses import replace

from progtheory import presets
from progtheory.sweep import Experiment, Run

LRS = tuple(round(1e-2 * math.sqrt(2) ** k, 6) for k in (0, -1, -2, -3, -4))  # training order
ABOVE_SEED0 = tuple(round(1e-2 * math.sqrt(2) ** k, 6) for k in (1, 2, 3, 4))
SEEDS = (0, 1, 2)


def runs(smoke: bool) -> list[Run]:
    base = presets.recipe()
    if smoke:
        base = presets.smoke(base)
    if smoke:
        return [Run(dict(lr=lr, seed=0), replace(base, lr=lr, seed=0)) for lr in LRS[:2]]
    return [Run(dict(lr=lr, seed=seed), replace(base, lr=lr, seed=seed))
            for seed in SEEDS for lr in LRS + (ABOVE_SEED0 if seed == 0 else ())]


EXPERIMENT = Experiment(
    name="recipe_lr",
    question="What peak LR minimizes the fixed 4-layer model's final loss under the paper's recipe?",
    predictions=("P2",),
    theory=(),
    runs=runs,
    scientific=("lr",),
    budget="19 runs (of the three above 1.4e-2 two diverge early), about 7-10 min each on one CPU thread",
)
