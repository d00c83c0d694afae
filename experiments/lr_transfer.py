"""LR transfer across depth and width (P14).

Question: where is the optimal peak LR at each depth and width, under the standard
parametrization (`sp`, whose optimum the theory expects to drift) and under depth-muP
(alpha = 1/2, whose optimum in base-LR units should stay put across depth)?  The measured
optima are put against `progtheory.predict_lr(depth, base_depth=4, width=..., base_width=128)`.

This is the one experiment declared for a GPU (`device="cuda"`, bf16 autocast): 576 short
runs are cheap there and five hours of CPU here.  Its numerics therefore differ from the
fp32 CPU experiments; the fixed-size baselines of those are tuned by `baseline_lr`, on CPU.
Runs are ordered seed-major, so a sweep stopped early leaves whole grids for the first seeds.
"""

from dataclasses import replace

from progtheory import presets
from progtheory.sweep import Experiment, Run

LRS = (7.5e-4, 1.5e-3, 3e-3, 6e-3, 1.2e-2, 2.4e-2)
DEPTHS = (1, 2, 4, 8)
WIDTHS = (128, 256)
PARAMETRIZATIONS = ("sp", "depth-mup")
SEEDS = (0, 1, 2)
BASE_DEPTH, BASE_WIDTH = 4, 128  # where `predict_lr` is anchored to the measured optimum (the report reads them back)


def runs(smoke: bool) -> list[Run]:
    base = presets.tiny() if smoke else replace(presets.default(), device="cuda")
    out = []
    for seed in SEEDS[:1] if smoke else SEEDS:
        for par in PARAMETRIZATIONS:
            for width in WIDTHS[:1] if smoke else WIDTHS:
                for depth in DEPTHS[:2] if smoke else DEPTHS:
                    model = replace(base.model, n_layer=depth, parametrization=par, base_depth=BASE_DEPTH,
                                    n_embd=base.model.n_embd if smoke else width)
                    for lr in LRS[2:4] if smoke else LRS:
                        cfg = replace(base, model=model, lr=lr, seed=seed, growth=None)
                        out.append(Run(dict(parametrization=par, width=model.n_embd, depth=depth,
                                            lr=lr, seed=seed), cfg))
    return out


EXPERIMENT = Experiment(
    name="lr_transfer",
    question="Does the optimal LR move with depth and width under sp, and stay put across depth under depth-muP?",
    predictions=("P14",),
    theory=("progtheory.predict_lr", "theory.parametrization.lr_multipliers"),
    runs=runs,
    scientific=("parametrization", "width", "depth", "lr"),
    design=dict(base_depth=BASE_DEPTH, base_width=BASE_WIDTH),
    metrics_stride=100,  # the LR curves need final losses; keep the eval steps only
    budget="288 runs on one GPU (bf16 autocast), 2000 steps each; seed-major order",
)
