"""The LR of the fixed-size baseline, tuned on the device the CPU experiments run on.

Question: is lr 3e-3, which every CPU experiment's fixed 4-layer baseline uses (and its
progressive runs with it), at the optimum of the fixed model, or is the baseline under-tuned?
A progressive run beating an under-tuned baseline would be no evidence of mixing.  Same
default config as `mixing` (WSD), fp32 on CPU; the lr = 3e-3 runs are the mixing baselines
themselves (same run ids), so they are not trained twice.
"""

from dataclasses import replace

from progtheory import presets
from progtheory.sweep import Experiment, Run

LRS = (7.5e-4, 1.5e-3, 3e-3, 6e-3)
SEEDS = (0, 1, 2)


def runs(smoke: bool) -> list[Run]:
    base = presets.tiny() if smoke else presets.default()
    lrs = (base.lr / 2, base.lr) if smoke else LRS
    out = []
    for seed in SEEDS[:1] if smoke else SEEDS:
        for lr in lrs:
            out.append(Run(dict(lr=lr, seed=seed), replace(base, lr=lr, seed=seed)))
    return out


EXPERIMENT = Experiment(
    name="baseline_lr",
    question="Is lr 3e-3 the optimum of the fixed 4-layer baseline on CPU?",
    predictions=("P2", "P16"),
    theory=(),
    runs=runs,
    scientific=("lr",),
    budget="12 runs (3 reused from mixing); ~7 min each on one CPU thread",
)
