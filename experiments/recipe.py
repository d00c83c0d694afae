"""The timing recipe: expand at tau* = T - t_mix, with t_mix from pilot runs (P15).

Question: the paper's recipe takes the mixing time t_mix measured in a pilot and expands as
late as tau* = T - t_mix, clipped to the stable phase of WSD, claiming parity with the
fixed-depth model at the lowest cost.  The pilots are the `mixing` runs at the tuned LR:
per source depth, t_mix is the median over the WSD runs that mixed
(`analysis.recipe_tau`).  A source depth none of whose pilots mixed has no tau* and no run
here.  The fixed-depth runs are those of `mixing` (same configs, same run ids).

tau* is read from the committed `experiments/results/mixing` tables when the run list is
built, so it follows those results; the smoke variant has no pilots and expands at the end of
its stable phase.
"""

from dataclasses import replace
from functools import cache

from progtheory import presets
from progtheory.config import GrowthPlan
from progtheory.sweep import Experiment, Run, experiments_dir
from progtheory.theory import timing

SEEDS = (0, 1, 2)
SOURCES = (0, 1)


@cache
def pilot_taus() -> dict[int, dict]:
    """source depth -> `analysis.recipe_tau` of the tuned-LR mixing pilots (sources that mixed)."""
    from progtheory import analysis as A

    root = experiments_dir() / "results"
    try:
        runs, metrics = A.load_arms("mixing", root, "sp-adamw")
    except FileNotFoundError as e:
        raise FileNotFoundError(f"the recipe needs the mixing pilots: {e}") from None
    runs = runs[(runs.lr == presets.TUNED_LR)].drop(columns="lr")
    table = A.mixing_table(runs, metrics)
    return {s: r for s in SOURCES if (r := A.recipe_tau(table, s)) is not None}


def runs(smoke: bool) -> list[Run]:
    base = presets.tiny() if smoke else presets.tuned()
    if smoke:
        stable_end = timing.stable_phase(base.steps, base.schedule.kind, base.schedule.warmup, base.schedule.decay)[1]
        taus = {1: dict(tau=stable_end / base.steps, t_mix=0.0)}
    else:
        taus = pilot_taus()
    out = []
    for seed in SEEDS[:1] if smoke else SEEDS:
        cfg = replace(base, seed=seed)
        out.append(Run(dict(source=-1, tau=1.0, t_mix=0.0, seed=seed), cfg))
        for source, r in sorted(taus.items()):
            source = min(source, cfg.model.n_layer - 1)
            plan = GrowthPlan(source_depth=source, stages=((r["tau"], cfg.model.n_layer),),
                              init="copy" if source == 1 else "random")
            out.append(Run(dict(source=source, tau=r["tau"], t_mix=r["t_mix"], seed=seed), replace(cfg, growth=plan)))
    return out


EXPERIMENT = Experiment(
    name="recipe",
    question="Does expanding at tau* = T - t_mix (t_mix from the mixing pilots) reach the fixed-depth loss?",
    predictions=("P15",),
    theory=("theory.timing.latest_tau", "analysis.recipe_tau"),
    runs=runs,
    scientific=("source", "tau"),
    budget="3-6 runs; about 3 min per progressive run on 2 idle CPU cores (fixed runs shared with mixing)",
)
