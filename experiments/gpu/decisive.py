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
Smoke: every config at `presets.smoke` size (d = 32, 2 layers, 40 steps, CPU), same grid.
"""

from dataclasses import replace

from progtheory import presets
from progtheory.config import GrowthPlan
from progtheory.sweep import Experiment, Run

TRAIN_TOKENS = 19_939_426          # bytes, default corpus, train split (prepare_data meta n_tokens)
BATCH = 128
BUDGETS = (2400, 9600)             # steps; the short budget first
SOURCES = (0, 1)
TAUS = (0.8, 0.5)
SEED = 0


def arms() -> dict[str, object]:
    """arm name -> base config: the paper's recipe and the AdamW baseline."""
    return {"recipe": presets.get("recipe"), "adamw": presets.get("tuned")}


def _sized(base, steps: int, smoke: bool):
    if smoke:
        return presets.smoke(base)
    return replace(base, steps=steps, batch_size=BATCH, eval_every=steps // 24, eval_batches=10,
                   ckpt_every=steps // 4, device="cuda", seed=SEED)


def runs(smoke: bool) -> list[Run]:
    out = []
    for steps in BUDGETS[:1] if smoke else BUDGETS:
        for arm, base in arms().items():
            cfg = _sized(base, steps, smoke)
            out.append(Run(dict(arm=arm, T=cfg.steps, source=-1, tau=1.0), cfg))
            for source in SOURCES:
                for tau in TAUS:
                    plan = GrowthPlan(source_depth=source, stages=((tau, cfg.model.n_layer),),
                                      init="copy" if source == 1 else "random")
                    out.append(Run(dict(arm=arm, T=cfg.steps, source=source, tau=tau), replace(cfg, growth=plan)))
    return out


EXPERIMENT = Experiment(
    name="gpu_decisive",
    question="At up to 4 epochs of the corpus, does a 0- or 1-layer source grown at 0.8T or 0.5T reach the "
             "fixed model, under the paper's recipe and under AdamW?",
    predictions=("P2", "P1"),
    theory=("theory.compute.progressive_savings",),
    runs=runs,
    scientific=("arm", "T", "source", "tau"),
    nuisance=(),
    budget="20 runs on one H200, 10 sharing the GPU at a time, within 9 minutes (experiments/gpu/run.sh)",
    metrics_stride=20,
    design={"train_tokens": TRAIN_TOKENS, "batch_size": BATCH, "budgets": list(BUDGETS),
            "epochs": [round(t * BATCH * 64 / TRAIN_TOKENS, 3) for t in BUDGETS]},
)
