"""Fresh blocks beside a trained block: do they starve because of the absorbed output projections? (P29)

Question: grown from a trained 1-layer source, fresh random blocks barely learn.  In
`copy_symmetry` (d = 64, the paper's recipe) dropping one of them costs 0.001-0.003 nats at
T = 2,500 and 0.02-0.2 at T = 10,000, against 13-33 nats for the trained block (block-0
dominance 78-21,000), while the fresh blocks of a 0-layer source cost 0.1-1.5 nats each on the
d = 32 ladder.  Yet at T = 10,000 those starved runs end 0.006-0.021 nats below the copies.  Under
CompleteP (residual multiplier m(L) = 1/L) the default `growth.old_blocks = "absorb"` keeps the
source's branch by multiplying its output projections by m(1)/m(4) = 4: the trained block enters
the grown model with four times its weights' reach into the stream, beside new blocks at the
depth-4 init.  With `old_blocks = "rescale"` its weights stay as trained and it takes m(4) like
the others: its branch shrinks fourfold at tau and the new blocks meet it on the same scale.
(`copy_multiplier`, P28: the rescaled *copy* is the better copy from T = 10,000 on, by 0.035 nats,
and its gap falls with T, 11.5% -> 10.6% -> 8.8%.)

Grid: the `ladder` target (the paper's recipe at d = 32), WSD with the last 10% decayed,
tau = 0.8T, T in {2,500, 10,000, 40,000}, seeds 0-2: the 1-layer source grown with random blocks
under `old_blocks = "rescale"` (9 new runs) and under "absorb" at T = 2,500 (3 new runs).  Shared
by run id: the fixed runs, the 0-layer source and the absorbed copy (`ladder`), the rescaled copy
(`copy_multiplier`) and the absorbed random blocks at T = 10,000 and 40,000 (`copy_symmetry`).

Stated before any run of the rescaled random blocks (`experiments/predictions/random_rescale.csv`,
experiments/LOG.md), P29, "the fresh blocks starve because the trained block carries fourfold
output projections", seed-paired against the absorbed random blocks of the same T and seed:
  (a) the fresh blocks learn: their mean cost to drop (block ablation at T,
      `scripts/block_ablation.py`) is at least 5x the absorbed random blocks', at every T;
  (b) the rescaled random blocks end below the absorbed ones at T = 10,000 and 40,000 (the 95%
      interval of the paired final-loss difference below 0);
  (c) at T = 40,000 they end at or below the rescaled copy (paired mean difference <= 0): with
      the trained block on the new blocks' scale, random blocks are the better 1-layer init.
"""

from progtheory import presets
from progtheory.sweep import Experiment, Run

SEEDS = (0, 1, 2)
BUDGETS = (2500, 10000, 40000)
TAU = 0.8
# (source, init, old_blocks): the shared arms, then the new ones
SHARED = ((-1, "fixed", "absorb"), (0, "random", "absorb"), (1, "copy", "absorb"), (1, "copy", "rescale"))
NEW = ((1, "random", "absorb"), (1, "random", "rescale"))


def base():
    """`presets.recipe()` at d = 32 (4 heads): the `ladder` target."""
    return presets.at_width(presets.recipe(), 32)


def _run(b, T: int, seed: int, source: int, init: str, old_blocks: str) -> Run:
    # the ladder's construction of its WSD runs, so the shared runs keep their run ids
    cfg = presets.budgeted(b, T, seed)
    tau = 1.0
    if source >= 0:
        tau = TAU
        cfg = presets.grown(cfg, source, tau, init, old_blocks=old_blocks)
    return Run(dict(steps_T=T, tau=tau, source=source, init=init, old_blocks=old_blocks, seed=seed), cfg)


def runs(smoke: bool) -> list[Run]:
    if smoke:
        b = presets.smoke(base())
        return [_run(b, b.steps, 0, -1, "fixed", "absorb"), _run(b, b.steps, 0, 1, "random", "rescale")]
    b = base()
    # the new arms first within each budget and seed, the rescaled random blocks leading
    return [_run(b, T, seed, *arm) for T in BUDGETS for seed in SEEDS for arm in reversed(SHARED + NEW)]


EXPERIMENT = Experiment(
    name="random_rescale",
    question="Grown from a trained 1-layer source, do fresh random blocks starve because the trained block carries "
             "fourfold output projections, and do they learn and end lower when it takes the depth-4 multiplier "
             "instead?",
    predictions=("P29",),
    theory=("theory.parametrization",),
    runs=runs,
    scientific=("steps_T", "tau", "source", "init", "old_blocks"),
    nuisance=("seed",),
    metrics_stride=10,
    design={"shared": "ladder: fixed, 0-layer random and absorbed copy; copy_multiplier: rescaled copy; "
                      "copy_symmetry: absorbed random blocks at T = 10000 and 40000 (tau = 0.8T)"},
    budget="12 new runs at about 25 steps/s per lane: T = 2,500 about 2 lane-min each, 10,000 about 7, "
           "40,000 about 17",
)
