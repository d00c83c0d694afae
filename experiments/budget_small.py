"""Token budget in the paper's regime: a d = 64 target trained to >= 100 tokens per block
parameter, under the paper's recipe (P2, P9; issue "a model of the progressive gap").

Question: the paper's claims live at hundreds of tokens per parameter; `budget` reaches 5-20 at
d = 128.  Does the final gap of a 0- or 1-layer source at tau in {0.5, 0.8}T shrink toward
parity once the target sees >= 100 tokens per block parameter?  Target: `presets.recipe()` at
d = 64 (4 heads of 16, 4 layers; CompleteP keeps the recipe's base width 128, so the hidden
rules and the readout multiplier w0/w = 2 transfer the recipe's LR, the muP claim), batch 32 x
context 64 = 2048 tokens per step.  Block parameters: 4 x (12 d^2 + 13 d) = 199,936, so
T = 10,000 steps (20.5 M tokens) gives 102 tokens per block parameter, and T = 2,500 gives 26.
The embedded corpus's training split holds 19,939,426 bytes (`len(prepare_data(cfg.data,
256).train)`), so T = 2,500 makes 0.26 epochs and T = 10,000 makes 1.03 (`epochs`).
"""

from dataclasses import replace

from progtheory import presets
from progtheory.config import GrowthPlan
from progtheory.sweep import Experiment, Run

SEEDS = (0, 1, 2)
STEPS = (2500, 10000)
TAUS = (0.5, 0.8)
SOURCES = ((0, "random"), (1, "copy"))
TRAIN_BYTES = 19_939_426  # bytes in the embedded corpus's training split (module docstring)


def base():
    """`presets.recipe()` at d = 64 (4 heads), every rule and the LR unchanged."""
    cfg = presets.recipe()
    return replace(cfg, model=replace(cfg.model, n_embd=64, n_head=4), name="recipe-d64")


def epochs(cfg) -> float:
    """Passes over the training split: steps x batch x context / bytes."""
    return cfg.steps * cfg.batch_size * cfg.model.block_size / TRAIN_BYTES


def runs(smoke: bool) -> list[Run]:
    b = presets.smoke(base()) if smoke else base()
    out = []
    for seed in SEEDS[:1] if smoke else SEEDS:
        for T in (b.steps,) if smoke else STEPS:
            cfg = replace(b, steps=T, seed=seed, ckpt_every=max(b.ckpt_every, T // 4))
            out.append(Run(dict(steps_T=T, tau=1.0, source=-1, seed=seed), cfg))
            for source, init in SOURCES:
                for tau in TAUS[:1] if smoke else TAUS:
                    plan = GrowthPlan(source_depth=source, stages=((tau, cfg.model.n_layer),), init=init)
                    out.append(Run(dict(steps_T=T, tau=tau, source=source, seed=seed), replace(cfg, growth=plan)))
    return out


EXPERIMENT = Experiment(
    name="budget_small",
    question="At >= 100 tokens per block parameter (d = 64, the paper's recipe), does the progressive gap close?",
    predictions=("P2", "P9", "P20"),
    theory=("theory.loss_laws", "analysis.head_start.score_gap_model"),
    runs=runs,
    scientific=("steps_T", "tau", "source"),
    budget="30 runs; about 45 min per seed and T = 10,000 on one CPU thread (d = 64 steps cost about a third of d = 128's)",
)
