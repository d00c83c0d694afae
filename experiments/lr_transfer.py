"""LR transfer across depth (P14), and the tuned LR of every fixed-size baseline.

Question: where is the optimal peak LR at each depth, under the standard parametrization
(`sp`, whose optimum the theory expects to drift) and under depth-muP (alpha = 1/2, whose
optimum in base-LR units should stay put)?  The measured optima are put against
`progtheory.predict_lr(depth, base_depth=4, ...)`.  The depth-4 `sp` column is also the LR
sweep of the default fixed-size model, which every progressive comparison uses as its
baseline, so that baseline is tuned and not assumed.
"""

from dataclasses import replace

from progtheory import presets
from progtheory.sweep import Experiment, Run

LRS = (1e-3, 3e-3, 1e-2, 3e-2)
DEPTHS = (1, 2, 4, 8)
PARAMETRIZATIONS = ("sp", "depth-mup")
SEEDS = (0, 1, 2)


def runs(smoke: bool) -> list[Run]:
    base = presets.tiny() if smoke else presets.default()
    out = []
    for par in PARAMETRIZATIONS:
        for depth in DEPTHS[:2] if smoke else DEPTHS:
            model = replace(base.model, n_layer=depth, parametrization=par, base_depth=4)
            for lr in LRS[1:3] if smoke else LRS:
                for seed in SEEDS[:1] if smoke else SEEDS:
                    cfg = replace(base, model=model, lr=lr, seed=seed, growth=None)
                    out.append(Run(dict(parametrization=par, depth=depth, lr=lr, seed=seed), cfg))
    return out


EXPERIMENT = Experiment(
    name="lr_transfer",
    question="Does the optimal LR move with depth under sp, and stay put under depth-muP?",
    predictions=("P14",),
    theory=("progtheory.predict_lr", "theory.parametrization.lr_multipliers"),
    runs=runs,
    scientific=("parametrization", "depth", "lr"),
    budget="96 runs; depth-4 runs ~5 min each on 2 idle cores, about 5 h in all: run by shards",
)
