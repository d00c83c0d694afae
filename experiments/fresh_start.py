"""Fresh starts against the budget ladder: is the grown model worth more than a model trained from
scratch for only the steps after tau? (P27)

Question: `saturation` found the 0-layer source's grown run 0.04-0.05 nats above a fresh 4-layer
model trained only the 2,000 steps after tau.  The ladder's 0-layer gap keeps falling with the
steps after tau (47.8% -> 18.1% -> 6.6% at 500 / 2,000 / 8,000).  Does the source start to pay
with more steps after tau, and where?

Grid: the `ladder` target (the paper's recipe at d = 32), fixed runs of S = T - tau steps for each
tau = 0.8T rung of the ladder: S in {500, 2,000, 8,000, 32,000} (T = 2,500, 10,000, 40,000,
160,000), WSD with 2% warmup and the decay over the last half (the grown runs' schedule after
tau: S/2 at peak, then the linear decay over S/2), seeds 0-2 (S = 32,000: seed 0, as the ladder's
top rung).  S = 2,000 is `saturation`'s fresh start, shared by run id.  Each is compared with the
ladder's grown runs of the same seed at the matching T (`analysis.saturation.ladder_against_fresh`).

Stated before any of these runs (`experiments/predictions/fresh_start.csv`): the fresh runs' final
loss from the ladder's fixed-size law (fitted on the ladder's fixed pilots), and P27 across the
ladder: the 0-layer source's grown run ends above the fresh start at every rung.
"""

from progtheory import presets
from progtheory.sweep import Experiment, Run

SEEDS = (0, 1, 2)
RUNGS = ((500, SEEDS), (2000, SEEDS), (8000, SEEDS), (32000, (0,)))  # (steps after tau, seeds)
LADDER_T = {500: 2500, 2000: 10000, 8000: 40000, 32000: 160000}


def base():
    """`presets.recipe()` at d = 32 (4 heads): the `ladder` target."""
    return presets.at_width(presets.recipe(), 32)


def _run(b, S: int, seed: int) -> Run:
    # `saturation`'s construction of its fresh starts, so S = 2,000 keeps its run ids
    cfg = presets.budgeted(b, S, seed, decay=0.5)
    return Run(dict(steps_T=S, ladder_T=LADDER_T.get(S, 0), source=-1, seed=seed), cfg)


def runs(smoke: bool) -> list[Run]:
    if smoke:
        return [_run(presets.smoke(base()), presets.smoke(base()).steps, 0)]
    b = base()
    return [_run(b, S, seed) for S, seeds in RUNGS for seed in seeds]


EXPERIMENT = Experiment(
    name="fresh_start",
    question="Across the budget ladder, does a grown model end below a model trained from scratch for only the "
             "steps after tau?",
    predictions=("P27",),
    theory=("theory.loss_laws",),
    runs=runs,
    scientific=("steps_T", "ladder_T"),
    nuisance=("seed",),
    metrics_stride=10,
    design={"schedule": "wsd, warmup 2%, decay over the last half", "shared": "S = 2,000 is saturation's"},
    budget="10 runs, 3 shared with saturation; about 20 lane-min for S <= 8,000 and 25 for S = 32,000",
)
