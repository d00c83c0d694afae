"""The decisive comparison on one GPU: fixed depth against 0- and 1-layer sources, two budgets.

Question: at the largest token budget the embedded corpus allows without more than 4 epochs,
does a model grown from a 0- or 1-layer source at tau = 0.8T or 0.5T reach the fixed 4-layer
model's validation loss, under the paper's recipe (`presets.recipe()`: CompleteP, spectral
init, Muon-NSGD) and under AdamW (`presets.tuned()`: sp, AdamW at its tuned LR)?

Budgets.  The byte-level training split of the embedded corpus holds TRAIN_TOKENS tokens.  At
batch 128 x context 64 = 8192 tokens a step, T = 9600 steps is 3.94 epochs (the largest
multiple of 100 steps within 4); T = 2400 (0.99 epochs) runs first in every shard, so a
deadline that stops the long runs still leaves the whole grid at the short budget.  The batch
is 4x the presets' 32, at the presets' peak LRs: on a GPU a step of this model costs launch
overhead, not arithmetic, so a larger batch buys tokens almost for free.

Sources: 0 layers grow with `random` init, 1 layer with `copy` (as in `recipe.py`).  Seed 0.

Lanes.  `experiments/gpu/run.sh` trains the grid as LANES processes sharing the GPU, lane i
running `--only lane=i`.  The `lane` tag balances the lanes by training FLOPs
(`theory.compute.train_config_flops`): longest-processing-time first, each run to the lane
with the fewest FLOPs so far.  Runs are declared in order of (T, FLOPs), so each lane trains
its short runs first and a deadline cuts only its longest ones.

Smoke: every config at `presets.smoke` size (d = 32, 2 layers, CPU), the same grid at
SMOKE_BUDGETS = 40 and 100,000 steps in SMOKE_LANES lanes.  A smoke step takes 1.5 ms or more
on a CPU, so a smoke deadline of a minute always cuts the long budget, as a device deadline
may cut the long runs.
"""

from dataclasses import replace

from progtheory import presets
from progtheory.config import GrowthPlan
from progtheory.sweep import Experiment, Run

TRAIN_TOKENS = 19_939_426          # bytes, default corpus, train split (prepare_data meta n_tokens)
BATCH = 128
BUDGETS = (2400, 9600)             # steps; the short budget first
SMOKE_BUDGETS = (40, 100_000)      # steps at smoke size; the long one always outlasts a smoke deadline
LANES = 10                         # processes sharing the GPU
SMOKE_LANES = 2
SOURCES = (0, 1)
TAUS = (0.8, 0.5)
SEED = 0


def arms() -> dict[str, object]:
    """arm name -> base config: the paper's recipe and the AdamW baseline."""
    return {"recipe": presets.get("recipe"), "adamw": presets.get("tuned")}


def _sized(base, steps: int, smoke: bool):
    if smoke:
        cfg = presets.smoke(base)
        if steps == cfg.steps:
            return cfg
        return replace(cfg, steps=steps, eval_every=200, ckpt_every=steps // 4)
    return replace(base, steps=steps, batch_size=BATCH, eval_every=steps // 24, eval_batches=10,
                   ckpt_every=steps // 4, device="cuda", seed=SEED)


def lanes(costs: list[float], n: int) -> list[int]:
    """The lane (0 .. n-1) of each job: longest-processing-time first, each job to the lane
    with the least total cost so far (ties to the lower lane).  The largest lane total is at
    most 4/3 of the best possible one (Graham 1969)."""
    if n < 1:
        raise ValueError(f"n={n} lanes must be >= 1")
    load, out = [0.0] * n, [0] * len(costs)
    for j in sorted(range(len(costs)), key=lambda j: -costs[j]):
        lane = min(range(n), key=lambda i: load[i])
        out[j], load[lane] = lane, load[lane] + costs[j]
    return out


def runs(smoke: bool) -> list[Run]:
    from progtheory.theory.compute import train_config_flops

    grid = []
    for steps in SMOKE_BUDGETS if smoke else BUDGETS:
        for arm, base in arms().items():
            cfg = _sized(base, steps, smoke)
            grid.append((dict(arm=arm, T=cfg.steps, source=-1, tau=1.0), cfg))
            for source in SOURCES:
                for tau in TAUS:
                    plan = GrowthPlan(source_depth=source, stages=((tau, cfg.model.n_layer),),
                                      init="copy" if source == 1 else "random")
                    grid.append((dict(arm=arm, T=cfg.steps, source=source, tau=tau), replace(cfg, growth=plan)))
    flops = [train_config_flops(cfg)["progressive"] for _, cfg in grid]
    lane = lanes(flops, SMOKE_LANES if smoke else LANES)
    order = sorted(range(len(grid)), key=lambda j: (grid[j][0]["T"], flops[j]))
    return [Run({**grid[j][0], "lane": lane[j]}, grid[j][1]) for j in order]


EXPERIMENT = Experiment(
    name="gpu_decisive",
    question="At up to 4 epochs of the corpus, does a 0- or 1-layer source grown at 0.8T or 0.5T reach the "
             "fixed model, under the paper's recipe and under AdamW?",
    predictions=("P2", "P1"),
    theory=("theory.compute.progressive_savings",),
    runs=runs,
    scientific=("arm", "T", "source", "tau"),
    nuisance=(),                       # `lane` schedules runs; it changes no config
    budget="20 runs on one H100 or H200 in 10 lanes sharing the GPU, in what `experiments/gpu/run.sh "
           "--deadline 480` leaves after its checks (about 4 minutes); long runs cut by the deadline keep "
           "their rows",
    metrics_stride=20,
    design={"train_tokens": TRAIN_TOKENS, "batch_size": BATCH, "budgets": list(BUDGETS),
            "epochs": [round(t * BATCH * 64 / TRAIN_TOKENS, 3) for t in BUDGETS]},
)
