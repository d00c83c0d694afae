"""The optimizer's memory as the gap's clock: decoupled weight decay lam varied at d = 32 (P25).

Question: the weights at the end are the share exp(-lam * A) of the state at tau plus an EMA of
the updates since (`theory.weight_decay`; A the LR area after tau).  The recipe's lam = 0.01
keeps 95% of the state at tau at T = 10,000 (lam * A = 0.05), while a run of the paper's length
passes many timescales.  Does the progressive gap close as the optimizer forgets, and is
lam * A the clock (equal gaps at equal lam * A across budgets) rather than the steps after tau?

Grid: the `ladder` target (the paper's recipe at d = 32; its lam = 0.01 runs are the ladder's
own, shared by run id), T = 10,000 and 2,500, lam in {0.01, 0.03, 0.1, 0.3, 1.0}, fixed /
0-layer random / 1-layer copy at tau = 0.8T (and 0.5T at T = 10,000), seeds 0-2; and sp + AdamW
(`presets.tuned()` at d = 32, its d = 128 LR 1.5e-3, not tuned at this width) at T = 10,000,
lam in {0.01, 0.1, 0.5}, the same three runs at 0.8T, seeds 0-2.

Pilot design (declared before any held-out run; the memory model `theory.weight_decay.
forgetting_gap` has two constants per source, gap_0 and floor): the recipe at T = 10,000,
tau = 0.8T, lam in {0.01, 0.3} (lam * A = 0.05 and 1.6).  Every other run is held out, and the
predictions for them are committed before they are trained.  Judged fairly: each arm at its own
best lam, and the progressive runs against the fixed run at its best lam.
"""

from progtheory import presets
from progtheory.sweep import Experiment, Run

SEEDS = (0, 1, 2)
SOURCES = ((0, "random"), (1, "copy"))
RECIPE_LAMS = (0.01, 0.03, 0.1, 0.3, 1.0)
ADAMW_LAMS = (0.01, 0.1, 0.5)
PILOTS = {("recipe", 10000, 0.8, 0.01), ("recipe", 10000, 0.8, 0.3), ("recipe", 10000, 1.0, 0.01),
          ("recipe", 10000, 1.0, 0.3)}


def base(recipe: str):
    """The d = 32 target (4 heads) of `presets.recipe()` (as `ladder`) or `presets.tuned()`."""
    return presets.at_width(presets.recipe() if recipe == "recipe" else presets.tuned(), 32)


def _run(b, recipe, T, lam, seed, source=-1, init="fixed", tau=1.0) -> Run:
    # the ladder's config construction, so its lam = 0.01 runs share their run ids
    cfg = presets.budgeted(b, T, seed, weight_decay=lam)
    if source >= 0:
        cfg = presets.grown(cfg, source, tau, init)
    role = "pilot" if (recipe, T, tau if source >= 0 else 1.0, lam) in PILOTS else "held_out"
    return Run(dict(role=role, recipe=recipe, lam=lam, steps_T=T, tau=tau, source=source, seed=seed), cfg)


def runs(smoke: bool) -> list[Run]:
    if smoke:
        b = presets.smoke(base("recipe"))
        return [_run(b, "recipe", b.steps, 0.3, 0), _run(b, "recipe", b.steps, 0.3, 0, 0, "random", 0.5)]
    out = []
    grids = (("recipe", 10000, RECIPE_LAMS, (0.5, 0.8)), ("recipe", 2500, RECIPE_LAMS, (0.8,)),
             ("tuned", 10000, ADAMW_LAMS, (0.8,)))
    for recipe, T, lams, taus in grids:
        b = base(recipe)
        for seed in SEEDS:
            for lam in lams:
                out.append(_run(b, recipe, T, lam, seed))
                out += [_run(b, recipe, T, lam, seed, s, i, tau) for s, i in SOURCES for tau in taus]
    return out


EXPERIMENT = Experiment(
    name="weight_decay",
    question="Does the progressive gap close as the optimizer forgets the state at tau, with lam x LR area after tau "
             "as its clock?",
    predictions=("P25",),
    theory=("theory.weight_decay",),
    runs=runs,
    scientific=("recipe", "lam", "steps_T", "tau", "source"),
    nuisance=("seed", "role"),
    metrics_stride=10,
    design={"pilots": "recipe T=10000 tau=0.8 lam in {0.01, 0.3} (fixed and both sources)"},
    budget="147 runs, 24 of them shared with `ladder` (lam = 0.01); about 8 lane-hours at d = 32 on one thread per lane",
)
