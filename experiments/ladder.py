"""A budget ladder toward the paper's regime: the paper's recipe at d = 32, trained 4x and 16x
longer than its pilots, with the gap model's predictions for every held-out rung committed
before the rung is trained (P2, P20).

Question: the paper claims that a 0- or 1-layer source grown at tau = 0.8T under WSD ends within
0.5% of the fixed model, at about 2,400 tokens per parameter and about 120,000 steps after tau.
Does the gap close as the budget grows, at the rate the gap model predicts from short pilots?

Target: `presets.recipe()` at d = 32 (4 heads of 8, 4 layers; CompleteP keeps the recipe's base
width 128, so the LR transfers by the recipe's own rules), batch 32 x context 64 = 2,048 tokens
per step.  Block parameters: 4 x (12 d^2 + 13 d) = 50,816, so T = 2,500 / 10,000 / 40,000 /
160,000 steps give 101 / 403 / 1,612 / 6,449 tokens per block parameter and 0.26 / 1.03 / 4.1 /
16.4 epochs of the embedded corpus's training split (19,939,426 bytes; `budget.epochs`).

Pilot design (declared before any score; the arm "recipe-d32" of `analysis.head_start.ARMS` reads the same
roles): the fixed runs at T = 2,500 and 10,000 (one schedule, two budgets: the fixed law's
extrapolation in T is fitted, not assumed), and per source (0-layer random, 1-layer copy) one
WSD progressive run at T = 2,500, tau = 0.5T, and one cosine progressive run at T = 2,500,
tau = 0.5T (LR area against schedule shape).  Seeds 0-2, the seed-mean curve of each.
Everything else is held out: tau = 0.8T at T = 2,500; both taus at T = 10,000; tau = 0.8T at
T = 40,000 (three seeds); and one seed at T = 160,000 (fixed, 0-layer and 1-layer copy at 0.8T,
32,000 steps after tau).

Second prediction stated with the rungs: the gap follows steps after tau, not tokens per
parameter.  `budget`'s recipe-d64 arm (the same recipe at d = 64, 199,936 block parameters)
separates the two: at equal T this ladder sees four times the tokens per block parameter, and its
T = 2,500 rung (101 tokens per block parameter) matches that arm's T = 10,000 (102).  If the gap
follows steps, this ladder's gaps equal the d = 64 arm's at equal T (within 2 points); if it
follows tokens per parameter, they equal the d = 64 arm's at four times the T.
"""

from progtheory import presets
from progtheory.sweep import Experiment, Run

SEEDS = (0, 1, 2)
SOURCES = ((0, "random"), (1, "copy"))
# (T, taus, seeds) of every WSD rung; the pilots are the T = 2,500 fixed and tau = 0.5 runs,
# and the T = 10,000 fixed runs (PILOTS below).
RUNGS = ((2500, (0.5, 0.8), SEEDS), (10000, (0.5, 0.8), SEEDS), (40000, (0.8,), SEEDS), (160000, (0.8,), (0,)))
PILOT_T = 2500
PILOTS = {"fixed": (("wsd", 2500), ("wsd", 10000)),
          "progressive": {(0, "random"): (("wsd", 2500, 0.5), ("cosine", 2500, 0.5)),
                          (1, "copy"): (("wsd", 2500, 0.5), ("cosine", 2500, 0.5))}}


def base():
    """`presets.recipe()` at d = 32 (4 heads), every rule and the LR unchanged."""
    return presets.at_width(presets.recipe(), 32)


def is_pilot(schedule: str, T: int, source: int, init: str, tau: float) -> bool:
    """Whether a run plays a pilot role (PILOTS) rather than a held-out one."""
    if source < 0:
        return (schedule, T) in PILOTS["fixed"]
    return (schedule, T, tau) in PILOTS["progressive"].get((source, init), ())


def _run(b, schedule, T, seed, source=-1, init="fixed", tau=1.0) -> Run:
    cfg = presets.budgeted(b, T, seed, schedule=schedule)
    if source >= 0:
        cfg = presets.grown(cfg, source, tau, init)
    role = "pilot" if is_pilot(schedule, T, source, init, tau) else "held_out"
    return Run(dict(role=role, schedule=schedule, steps_T=T, tau=tau, source=source, seed=seed), cfg)


def runs(smoke: bool) -> list[Run]:
    b = presets.smoke(base()) if smoke else base()
    if smoke:
        return [_run(b, "wsd", b.steps, 0), _run(b, "wsd", b.steps, 0, 0, "random", 0.5)]
    out = []
    for T, taus, seeds in RUNGS:  # pilots first within each seed, so a lane fits them before scoring
        for seed in seeds:
            out.append(_run(b, "wsd", T, seed))
            for source, init in SOURCES:
                out += [_run(b, "wsd", T, seed, source, init, tau) for tau in taus]
                if T == PILOT_T:
                    out.append(_run(b, "cosine", T, seed, source, init, 0.5))
    return out


EXPERIMENT = Experiment(
    name="ladder",
    question="Under the paper's recipe at d = 32, does the progressive gap close toward parity as T grows 64-fold, "
             "as the gap model predicts from T = 2,500 pilots?",
    predictions=("P2", "P20"),
    theory=("theory.loss_laws", "theory.gap_model"),
    runs=runs,
    scientific=("schedule", "steps_T", "tau", "source"),
    nuisance=("seed", "role"),
    metrics_stride=10,
    design={"pilots": "fixed wsd T=2500,10000; per source wsd and cosine T=2500 tau=0.5", "block_params": 50816},
    budget="about 25 steps/s per lane at d = 32; pilots about 45 lane-min, T = 10,000 held-out about 60, "
           "T = 40,000 about 150, T = 160,000 about 180 (one seed)",
)
