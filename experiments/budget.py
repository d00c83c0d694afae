"""Token budget: does the progressive run's final gap shrink as training gets longer?

Question: at the default size, a 0-layer source expanded even at tau = 0.25T ends well above
the fixed-depth model (experiments/LOG.md, 2026-11-28), while the paper reports parity at
0.8T for models trained much longer.  If the steps the new blocks need after tau (t_mix) are
roughly fixed while the fixed-depth curve flattens, the gap at a fixed tau/T must shrink as
T grows (`theory.timing.mixing_time`, `theory.timing.predict_final_gap`).  Grid: T in
{2000, 4000, 8000} steps (4.1 M to 16 M tokens), tau/T in {0.5, 0.8}, WSD.
"""

from dataclasses import replace

from progtheory import presets
from progtheory.config import GrowthPlan
from progtheory.sweep import Experiment, Run

SEEDS = (0, 1, 2)
STEPS = (2000, 4000, 8000)
TAUS = (0.5, 0.8)


def runs(smoke: bool) -> list[Run]:
    base = presets.tiny() if smoke else presets.tuned()
    steps_grid = (base.steps, 2 * base.steps) if smoke else STEPS
    out = []
    for seed in SEEDS[:1] if smoke else SEEDS:
        for T in steps_grid:
            cfg = replace(base, steps=T, seed=seed, ckpt_every=max(base.ckpt_every, T // 4))
            out.append(Run(dict(steps_T=T, tau=1.0, source=-1, seed=seed), cfg))
            for tau in TAUS[:1] if smoke else TAUS:
                plan = GrowthPlan(source_depth=0, stages=((tau, cfg.model.n_layer),), init="random")
                out.append(Run(dict(steps_T=T, tau=tau, source=0, seed=seed), replace(cfg, growth=plan)))
    return out


EXPERIMENT = Experiment(
    name="budget",
    question="Does the final gap of a 0-layer -> L run at fixed tau/T shrink as the token budget grows?",
    predictions=("P2", "P9", "P19", "P20"),
    theory=("theory.timing.mixing_time", "theory.timing.predict_final_gap"),
    runs=runs,
    scientific=("steps_T", "tau", "source"),
    budget="27 runs; about 75 min per seed on 2 idle CPU cores (fixed runs 4, 8, 16 min)",
)
