"""Saturation of the source: the copy floor against the source's own training length (P26).

Question: the 1-layer copy's gap at tau = 0.8T does not shrink with budget (`ladder`, d = 32:
+11.1% at T = 2,500, +13.1% at 10,000, +11.5% at 40,000), while the 0-layer source's gap falls
about 2.6x per fourfold steps after tau.  Three readings of that floor:
  memory      the grown model keeps the share exp(-lam * A) of its state at tau (`weight_decay`,
              P25); at equal steps and schedule after tau (equal lam * A) the gap is the same
              whatever the source's age;
  symmetry    the copies stay alike (`copy_symmetry`, P24): already refuted there (the copies
              separate, and inits that break the symmetry leave the budget trend unchanged);
  saturation  a source trained longer is harder to grow (for a grown pretrained model the second
              stage's scaling exponent falls with the first stage's tokens: Liew & Kato 2025,
              "Reusing overtrained language models saturates scaling").  A longer run at
              tau = 0.8T also trains the source longer, so the floor would be the source's age.
This grid holds the steps and the LR schedule after tau fixed and varies the source's age alone.

Grid: the `ladder` target (the paper's recipe at d = 32), T - tau = 2,000 steps after tau with
tau in {500, 2,000, 8,000} (T = 2,500, 4,000, 10,000), WSD with warmup 2% and the decay over the
last 1,000 steps (decay = 1,000 / T), so every run sees 1,000 steps at peak LR and then the same
linear decay after tau; fixed / 0-layer random / 1-layer copy, seeds 0-2.  The tau = 8,000 runs
and their fixed runs are the ladder's own (T = 10,000, tau = 0.8T: decay 0.1), shared by run id.
The gap of each progressive run is taken against the fixed run of the same T and seed.

Predictions, stated before any run of this grid (`analysis.saturation`,
`experiments/predictions/saturation.csv`):
  (a) the gap model of the ladder (`analysis.gap_model`, arm "recipe-d32", fitted on the ladder's
      pilots) states each condition's gap with its interval;
  (b) the memory reading: at equal lam * A the gap does not depend on the source's age: for each
      source the gaps at tau = 500 and 2,000 are within 2 points of the tau = 8,000 gap;
  (c) the saturation reading: the copy's gap grows with the source's age, by more than 2 points
      from tau = 500 to 8,000, and by at least 2 points more than the 0-layer source's does.
The readings exclude each other on the copy: (b) and (c) cannot both hold.

Fresh starts (declared after the 27 runs above had run; P27): a fixed 4-layer run trained only
the 2,000 steps after tau, with the same schedule after its 2% warmup (T = 2,000, decay over
the last 1,000 steps), tau_step = 0, seeds 0-2: what a grown run would be worth if its source
were worth nothing.  Stated before these runs (`experiments/predictions/saturation_fresh.csv`):
  (d) the ladder's fixed-size law (fitted on the ladder's fixed pilots) states the fresh run's
      final loss with its interval;
  (e) the 0-layer source is worth no more than a fresh start: at every age its grown run ends
      above the fresh run (seed by seed), while the copy ends below it at tau = 8,000.
"""

from dataclasses import replace

from progtheory import presets
from progtheory.config import ScheduleConfig
from progtheory.sweep import Experiment, Run

SEEDS = (0, 1, 2)
SOURCES = ((0, "random"), (1, "copy"))
AFTER_TAU = 2000       # steps after tau, every rung
DECAY_STEPS = 1000     # the WSD decay, every rung: the last 1,000 steps
TAUS = (500, 2000, 8000)
FRESH = 0              # tau_step of the fresh starts: a fixed run of AFTER_TAU steps


def base():
    """`presets.recipe()` at d = 32 (4 heads): the `ladder` target."""
    return presets.at_width(presets.recipe(), 32)


def _run(b, tau_step: int, seed: int, source: int = -1, init: str = "fixed") -> Run:
    # the ladder's construction, so the tau = 8,000 runs (decay 0.1) keep the ladder's run ids
    T = tau_step + AFTER_TAU
    cfg = presets.budgeted(b, T, seed, decay=DECAY_STEPS / T)
    tau = tau_step / T
    if source >= 0:
        cfg = presets.grown(cfg, source, tau, init)
    return Run(dict(tau_step=tau_step, steps_T=T, tau=tau if source >= 0 else 1.0, source=source, init=init,
                    seed=seed), cfg)


def runs(smoke: bool) -> list[Run]:
    if smoke:
        b = presets.smoke(base())
        cfg = replace(b, schedule=ScheduleConfig(kind="wsd", warmup=0.02, decay=0.5))
        return [Run(dict(tau_step=0, steps_T=cfg.steps, tau=1.0, source=-1, init="fixed", seed=0), cfg),
                Run(dict(tau_step=0, steps_T=cfg.steps, tau=0.25, source=1, init="copy", seed=0),
                    presets.grown(cfg, 1, 0.25, "copy"))]
    b = base()
    grid = [r for seed in SEEDS for tau_step in TAUS
            for r in [_run(b, tau_step, seed)] + [_run(b, tau_step, seed, s, i) for s, i in SOURCES]]
    return grid + [_run(b, FRESH, seed) for seed in SEEDS]


EXPERIMENT = Experiment(
    name="saturation",
    question="At equal steps and LR schedule after tau, does the 1-layer copy's gap grow with how long its source "
             "was trained (saturation), or stay put (the optimizer's memory)?",
    predictions=("P26", "P27"),
    theory=("theory.gap_model", "theory.weight_decay"),
    runs=runs,
    scientific=("tau_step", "steps_T", "tau", "source", "init"),
    nuisance=("seed",),
    metrics_stride=10,
    design={"after_tau": AFTER_TAU, "decay_steps": DECAY_STEPS, "shared": "tau = 8,000 runs are the ladder's"},
    budget="30 runs, 9 of them the ladder's; the 21 new ones about 50 lane-min at d = 32 on one thread per lane",
)
