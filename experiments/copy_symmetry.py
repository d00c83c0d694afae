"""Why copied blocks stop paying with budget: the copies' symmetry, and inits that break it (P5, P24).

Question: a 1-layer source grown by copying its block into every new layer ends with a gap that
does not shrink with budget (`budget`, d = 64: +11.8% -> +11.9% at tau = 0.8T from T =
2,500 to 10,000; `ladder`, d = 32: +11.1% -> +13.1%), while the 0-layer source's gap shrinks
about 3x per fourfold budget.  One reading: four copies of one trained block start the grown
model in a symmetric point its updates do not leave.  Do the copies stay alike (`symmetry.jsonl`,
logged by every copying run), and does an init that breaks the symmetry let the 1-layer gap
shrink with budget as the 0-layer gap does?

Grid (the paper's recipe unless named): the 1-layer source at tau = 0.8T (and 0.5T at T =
10,000), init in {copy, random, copy_noise eps = 1/4, copy_noise eps = 1, copy_mix eps = 1/2},
3 seeds, at d = 64 (`budget`'s d = 64 target, T = 2,500 and 10,000; its copy and fixed runs are
shared by run id) and at d = 32 (the `ladder` target, T = 10,000 and 40,000, tau = 0.8T at
40,000; its copy and fixed runs are shared); and sp + AdamW at d = 64 (`presets.tuned()`, its
d = 128 LR, not tuned at this width), T = 10,000, tau = 0.8T, copy / copy_noise eps = 1/4 /
random, with its fixed runs.

Predictions, stated before any run of this grid (P24):
  (a) symmetry persists: at the end of every copy run the copies' weight cosine
      (`symmetry.copy_symmetry`, each pair, each matrix type) stays above 0.9, while every
      copy_noise eps = 1 run starts below 0.9 at tau;
  (b) breaking it pays with budget: from T = 2,500 to 10,000 at tau = 0.8T (d = 64), the gap
      of copy_noise eps = 1/4 and of copy_mix eps = 1/2 falls by more than 2 points (paired
      seeds), the copy's by less than 1;
  (c) the separation rate: `theory.copy_symmetry.separation` with the drive taken from the
      first logged update (D at tau + 1) predicts the relative distance of each pair at
      tau + k within a factor 2 for k <= 50; it must fail by k = 1,000, where the gradients
      have turned.
P5 ("copy no worse than random") is reported per budget from the same runs.
"""

from dataclasses import replace

from progtheory import presets
from progtheory.sweep import Experiment, Run

SEEDS = (0, 1, 2)
INITS = (("copy", 0.0), ("random", 0.0), ("copy_noise", 0.25), ("copy_noise", 1.0), ("copy_mix", 0.5))
ADAMW_INITS = (("copy", 0.0), ("copy_noise", 0.25), ("random", 0.0))


def _target(recipe: str, d: int):
    return presets.at_width(presets.recipe() if recipe == "recipe" else presets.tuned(), d)


def _budgeted(b, d: int, T: int, seed: int):
    # the constructions of `budget` (d = 64) and `ladder` (d = 32), so shared runs keep their ids
    if d == 32:
        return presets.budgeted(b, T, seed)
    return replace(b, steps=T, seed=seed, ckpt_every=max(b.ckpt_every, T // 4))


def _runs(recipe: str, d: int, T: int, taus, inits, seed: int, smoke: bool) -> list[Run]:
    b = _target(recipe, d)
    cfg = _budgeted(presets.smoke(b) if smoke else b, d, presets.smoke(b).steps if smoke else T, seed)
    tags = dict(recipe=recipe, d=d, steps_T=cfg.steps, seed=seed)
    out = [Run(dict(tags, tau=1.0, init="fixed", eps=0.0), cfg)]
    for tau in taus:
        for init, eps in inits:
            out.append(Run(dict(tags, tau=tau, init=init, eps=eps), presets.grown(cfg, 1, tau, init, init_noise=eps)))
    return out


def runs(smoke: bool) -> list[Run]:
    if smoke:
        return _runs("recipe", 64, 0, (0.5,), INITS[2:3], 0, True)
    grid = (("recipe", 64, 2500, (0.8,), INITS), ("recipe", 64, 10000, (0.5, 0.8), INITS),
            ("recipe", 32, 10000, (0.5, 0.8), INITS), ("recipe", 32, 40000, (0.8,), INITS),
            ("tuned", 64, 10000, (0.8,), ADAMW_INITS))
    return [r for recipe, d, T, taus, inits in grid for seed in SEEDS for r in _runs(recipe, d, T, taus, inits, seed, False)]


EXPERIMENT = Experiment(
    name="copy_symmetry",
    question="Do the copies of a 1-layer source stay symmetric, and does breaking the symmetry let its gap shrink "
             "with budget?",
    predictions=("P5", "P24"),
    theory=("theory.copy_symmetry",),
    runs=runs,
    scientific=("recipe", "d", "steps_T", "tau", "init", "eps"),
    metrics_stride=10,
    budget="114 runs, 24 shared with budget and ladder; about 12 lane-hours on one thread per lane "
           "(the T = 40,000 runs at d = 32 are half of it)",
)
