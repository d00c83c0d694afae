"""The copy's residual multiplier: are the copied blocks' fourfold output projections the copy floor? (P28)

Question: under the paper's recipe (CompleteP, residual multiplier m(L) = 1/L) the toolkit grows a
1-layer source by first absorbing the multiplier change into the old block (`growth.old_blocks =
"absorb"`: its output projections times m(1)/m(4) = 4, so its own branch is unchanged) and then
copying that block.  Every copy therefore carries output projections 4x the source's trained
weights, and the grown model's residual stream receives four full copies of the source's branch:
the loss jumps by about 3 nats at tau (1.83 -> 4.82 at T = 40,000).  At the ladder's ends the
copies' output projections are still 2.5-4x the fixed model's in Frobenius norm (attention and
MLP; 0.9-1.0x for the 0-layer source's fresh blocks), and the excess fades with weight decay
(2.9x at lam = 0.01, 2.2x at 0.1, 1.2x at 0.3, 1.0x at 1.0; T = 10,000), the lam under which the
copy's gap falls.  Weight decay under Muon-NSGD shrinks a weight by exp(-lam * A) over the LR
area A after tau (`theory.weight_decay`); with lam = 0.01, A after tau is at most 0.2 at
T = 40,000, so an excess made at tau is still there at T.

The paper's copy is w -> [w, w, ..., w] in weight space.  With `old_blocks = "rescale"` the
weights are copied as trained and every block takes the depth-4 multiplier: each of the four
blocks adds m(4) times the source's branch, so the grown model starts near the source's function
(to first order in the change of each block's input) with output projections of the source's
size.  This grid runs that copy beside the ladder's absorbed copy, the 0-layer source and the
fixed model.

Grid: the `ladder` target (the paper's recipe at d = 32), WSD with the last 10% decayed,
tau = 0.8T, T in {2,500, 10,000, 40,000}, seeds 0-2: the 1-layer copy with `old_blocks =
"rescale"` (9 new runs).  The fixed runs, the 0-layer source and the absorbed copy are the
ladder's, shared by run id.

Stated before any new run (`experiments/predictions/copy_multiplier.csv`, experiments/LOG.md), the
norm-memory reading of the copy floor:
  (a) the rescaled copy's loss change at tau (statistics batch, `growth_stats`) is below 0.5 nats
      at every T (the absorbed copy's: about 3);
  (b) at T its mean attention and MLP output-projection Frobenius norms are within 1.5x of the
      fixed run's (the absorbed copy's: 2.5-4x);
  (c) it ends at or below the absorbed copy's final loss at every T (seed-paired), and at
      T = 40,000 at or below the 0-layer source's (1.505), i.e. its gap falls with T as the
      0-layer source's does instead of staying near 11%.
If (b) holds and (c) fails, the norm excess is not what holds the copy back.
"""

from progtheory import presets
from progtheory.sweep import Experiment, Run

SEEDS = (0, 1, 2)
BUDGETS = (2500, 10000, 40000)
TAU = 0.8
# (source, init, old_blocks): the ladder's runs, then the new copy
ARMS = ((-1, "fixed", "absorb"), (0, "random", "absorb"), (1, "copy", "absorb"), (1, "copy", "rescale"))


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
        return [_run(b, b.steps, 0, -1, "fixed", "absorb"), _run(b, b.steps, 0, 1, "copy", "rescale")]
    b = base()
    # the new copies first within each budget and seed; the shared runs are done
    return [_run(b, T, seed, *arm) for T in BUDGETS for seed in SEEDS for arm in reversed(ARMS)]


EXPERIMENT = Experiment(
    name="copy_multiplier",
    question="Under the paper's recipe, does copying the 1-layer source's weights as trained (every block at the "
             "depth-4 multiplier) instead of its absorbed, fourfold output projections remove the copy floor?",
    predictions=("P28",),
    theory=("theory.weight_decay", "theory.parametrization"),
    runs=runs,
    scientific=("steps_T", "tau", "source", "init", "old_blocks"),
    nuisance=("seed",),
    metrics_stride=10,
    design={"shared": "ladder: fixed, 0-layer random and absorbed copy at tau = 0.8T, T = 2500, 10000, 40000"},
    budget="9 new runs at about 25 steps/s per lane: T = 2,500 about 2 lane-min each, 10,000 about 6, "
           "40,000 about 25",
)
