"""Source depth: Pareto front of final loss against FLOPs, mixing time against source depth,
and multi-stage growth (P10, P11, P12).

Question: do 0/1-layer sources dominate deeper sources on final loss for their FLOPs, is the
mixing time independent of the source depth, and does growing in two stages (0 -> 2 -> 4)
beat one jump (0 -> 4)?  Compute per run comes from `theory.compute.progressive_flops`
(checked against torch's FLOP counter in the tests).  tau = 0.5T under WSD.
"""

from dataclasses import replace

from progtheory import presets
from progtheory.config import GrowthPlan
from progtheory.sweep import Experiment, Run

SEEDS = (0, 1, 2)
TAU = 0.5
SOURCES = (0, 1, 2, 3)


def _init(source: int) -> str:
    return "random" if source == 0 else "copy" if source == 1 else "copy_stack"


def runs(smoke: bool) -> list[Run]:
    base = presets.tiny() if smoke else presets.tuned()
    L = base.model.n_layer
    sources = tuple(s for s in SOURCES if s < L)[:2] if smoke else tuple(s for s in SOURCES if s < L)
    out = []
    for seed in SEEDS[:1] if smoke else SEEDS:
        cfg = replace(base, seed=seed)
        out.append(Run(dict(source=-1, stages="fixed", tau=1.0, seed=seed), cfg))
        for s in sources:
            plan = GrowthPlan(source_depth=s, stages=((TAU, L),), init=_init(s))
            out.append(Run(dict(source=s, stages=f"{s}->{L}", tau=TAU, seed=seed), replace(cfg, growth=plan)))
        if not smoke:
            two = GrowthPlan(source_depth=0, stages=((0.25, 2), (TAU, L)), init="random")
            out.append(Run(dict(source=0, stages=f"0->2->{L}", tau=TAU, seed=seed), replace(cfg, growth=two)))
    return out


EXPERIMENT = Experiment(
    name="source_depth",
    question="Do 0/1-layer sources sit on the loss-FLOPs Pareto front, and is one jump as good as two?",
    predictions=("P10", "P11", "P12"),
    theory=("theory.compute.progressive_flops", "theory.timing.mixing_time"),
    runs=runs,
    scientific=("source", "stages"),
    budget="18 runs; about 25 min per seed on 2 idle CPU cores",
)
