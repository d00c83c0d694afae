"""Token budget: does the progressive run's final gap shrink as training gets longer, under
sp + AdamW at d = 128 and, toward the paper's regime, under the paper's recipe at d = 64
(P2, P9, P19, P20)?

Question: at the default size, a 0-layer source expanded even at tau = 0.25T ends well above
the fixed-depth model (experiments/LOG.md, 2026-11-28), while the paper reports parity at
0.8T for models trained much longer.  If the steps the new blocks need after tau (t_mix) are
roughly fixed while the fixed-depth curve flattens, the gap at a fixed tau/T must shrink as
T grows (`theory.timing.mixing_time`, `theory.timing.predict_final_gap`).  WSD, tau/T in
{0.5, 0.8}, 3 seeds.

Arms (the tag `recipe`; each arm's tables in its own results folder):
  sp-adamw    `presets.tuned()` at d = 128, a 0-layer source, T in {2000, 4000, 8000} steps
              (4.1 M to 16 M tokens, 5-20 tokens per block parameter) -> experiments/results/budget
  recipe-d64  the paper's claims live at hundreds of tokens per parameter: does the gap of a 0- or
              1-layer source close toward parity once the target sees >= 100 tokens per block
              parameter?  Target: `presets.recipe()` at d = 64 (4 heads of 16, 4 layers; CompleteP
              keeps the recipe's base width 128, so the hidden rules and the readout multiplier
              w0/w = 2 transfer the recipe's LR, the muP claim), batch 32 x context 64 = 2048
              tokens per step, T in {2500, 10000} -> experiments/results/budget_small.  Block
              parameters: 4 x (12 d^2 + 13 d) = 199,936, so T = 10,000 steps (20.5 M tokens)
              gives 102 tokens per block parameter, and T = 2,500 gives 26.  The embedded
              corpus's training split holds 19,939,426 bytes (`len(prepare_data(cfg.data,
              256).train)`), so T = 2,500 makes 0.26 epochs and T = 10,000 makes 1.03 (`epochs`).
"""

from dataclasses import replace

from progtheory import presets
from progtheory.config import GrowthPlan
from progtheory.sweep import Experiment, Run

SEEDS = (0, 1, 2)
TAUS = (0.5, 0.8)
TRAIN_BYTES = 19_939_426  # bytes in the embedded corpus's training split (module docstring)


def small_base():
    """`presets.recipe()` at d = 64 (4 heads), every rule and the LR unchanged: the recipe-d64 target."""
    return presets.at_width(presets.recipe(), 64)


def epochs(cfg) -> float:
    """Passes over the training split: steps x batch x context / bytes."""
    return cfg.steps * cfg.batch_size * cfg.model.block_size / TRAIN_BYTES


# recipe -> (preset, its smoke variant, the budgets T, those of the smoke variant (from its steps),
# the (source depth, init) grown)
RECIPES = {
    "sp-adamw": (presets.tuned, presets.tiny, (2000, 4000, 8000), lambda b: (b.steps, 2 * b.steps),
                 ((0, "random"),)),
    "recipe-d64": (small_base, lambda: presets.smoke(small_base()), (2500, 10000), lambda b: (b.steps,),
                   ((0, "random"), (1, "copy"))),
}
RESULTS = {"sp-adamw": "budget", "recipe-d64": "budget_small"}


def runs(smoke: bool) -> list[Run]:
    out = []
    for recipe, (make, make_smoke, steps, smoke_steps, sources) in RECIPES.items():
        b = make_smoke() if smoke else make()
        for seed in SEEDS[:1] if smoke else SEEDS:
            for T in smoke_steps(b) if smoke else steps:
                cfg = replace(b, steps=T, seed=seed, ckpt_every=max(b.ckpt_every, T // 4))
                out.append(Run(dict(recipe=recipe, steps_T=T, tau=1.0, source=-1, seed=seed), cfg))
                for source, init in sources:
                    for tau in TAUS[:1] if smoke else TAUS:
                        plan = GrowthPlan(source_depth=source, stages=((tau, cfg.model.n_layer),), init=init)
                        out.append(Run(dict(recipe=recipe, steps_T=T, tau=tau, source=source, seed=seed),
                                       replace(cfg, growth=plan)))
    return out


EXPERIMENT = Experiment(
    name="budget",
    question="Does the final gap of a progressive run at fixed tau/T shrink as the token budget grows, and does it "
             "close at >= 100 tokens per block parameter (d = 64, the paper's recipe)?",
    predictions=("P2", "P9", "P19", "P20"),
    theory=("theory.timing.mixing_time", "theory.timing.predict_final_gap", "theory.loss_laws",
            "analysis.head_start.score_gap_model"),
    runs=runs,
    scientific=("recipe", "steps_T", "tau", "source"),
    budget="57 runs: sp-adamw 27, about 75 min per seed on 2 idle CPU cores (fixed runs 4, 8, 16 min); recipe-d64 "
           "30, about 45 min per seed and T = 10,000 on one CPU thread (d = 64 steps cost about a third of d = 128's)",
    arms=RESULTS,
)
