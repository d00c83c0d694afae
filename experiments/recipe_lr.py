"""The tuned baseline of the paper's recipe: an LR sweep of `presets.recipe()` at the default size.

Question: where is the optimum peak LR of the fixed 4-layer model under the recipe (CompleteP,
spectral init, Muon-NSGD, WSD)?  Its progressive runs use the same LR before and after the
expansion, so a progressive run compared with an under-tuned baseline would prove nothing.
Grid: x sqrt(2) steps from 7.1e-3 to 4e-2, trained outward from the first guess 1e-2 and
mostly upward: under CompleteP with base depth 1 every block's branch carries m = 1/L, so at
L = 4 a Muon step moves the residual stream by a quarter of what the same LR does under muP
without a depth rule (where lr 1e-2 was a good first guess, experiments/LOG.md), and the optimum
is expected above 1e-2.  Every seed's optimum must lie inside the grid; extend it if not.
"""

import math
from dataclasses import replace

from progtheory import presets
from progtheory.sweep import Experiment, Run

LRS = tuple(round(1e-2 * math.sqrt(2) ** k, 6) for k in (0, 1, 2, 3, 4, -1))  # training order
SEEDS = (0, 1, 2)


def runs(smoke: bool) -> list[Run]:
    base = presets.recipe()
    if smoke:
        base = presets.smoke(base)
    lrs = LRS[:2] if smoke else LRS
    return [Run(dict(lr=lr, seed=seed), replace(base, lr=lr, seed=seed))
            for seed in (SEEDS[:1] if smoke else SEEDS) for lr in lrs]


EXPERIMENT = Experiment(
    name="recipe_lr",
    question="What peak LR minimizes the fixed 4-layer model's final loss under the paper's recipe?",
    predictions=("P2",),
    theory=(),
    runs=runs,
    scientific=("lr",),
    budget="18 runs, about 7 min each on one idle CPU thread",
)
