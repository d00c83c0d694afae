"""Mixing under the paper's recipe: the `mixing` grid rerun with `presets.recipe()` (P2, P6-P9).

Question: with the paper's own recipe (CompleteP, spectral init, Muon-NSGD, one LR before and
after the expansion, the LR tuned by `recipe_lr`), does a 0/1-layer source expanded once at
tau reach the fixed-depth loss, under WSD and cosine?  Same sources, inits and schedules as
`mixing` (0-layer: random init; 1-layer: copy), so the two arms compare condition by condition.
"""

from dataclasses import replace

from progtheory import presets
from progtheory.config import GrowthPlan, ScheduleConfig
from progtheory.sweep import Experiment, Run

SEEDS = (0, 1, 2)
TAUS = {"wsd": (0.25, 0.5, 0.8, 0.95), "cosine": (0.25, 0.5, 0.7)}
SOURCES = (0, 1)


def runs(smoke: bool) -> list[Run]:
    base = presets.smoke(presets.recipe()) if smoke else presets.recipe()
    out = []
    for seed in SEEDS[:1] if smoke else SEEDS:
        for kind, taus in TAUS.items():
            cfg = replace(base, seed=seed,
                          schedule=ScheduleConfig(kind=kind, warmup=0.02, decay=0.1 if kind == "wsd" else 0.0))
            out.append(Run(dict(lr=cfg.lr, schedule=kind, source=-1, tau=1.0, seed=seed), cfg))
            for source in SOURCES:
                for tau in taus[1:2] if smoke else taus:
                    plan = GrowthPlan(source_depth=source, stages=((tau, cfg.model.n_layer),),
                                      init="copy" if source == 1 else "random", allow_outside_stable=tau > 0.9)
                    out.append(Run(dict(lr=cfg.lr, schedule=kind, source=source, tau=tau, seed=seed),
                                   replace(cfg, growth=plan)))
    return out


EXPERIMENT = Experiment(
    name="mixing_recipe",
    question="Under the paper's recipe, does a 0/1-layer source expanded at tau reach the fixed-depth loss?",
    predictions=("P1", "P2", "P3", "P6", "P7", "P8", "P9", "P15", "P16", "P18", "P19", "P20"),
    theory=("theory.bounds.r_of_tau", "theory.timing.mixing_time"),
    runs=runs,
    scientific=("lr", "schedule", "source", "tau"),
    budget="48 runs; about 70 min per seed on 2 CPU cores (fixed runs ~7 min, progressive 0.5-6 min)",
)
