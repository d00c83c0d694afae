"""Named run configurations: each is a function returning a frozen `TrainConfig`.

Variants are made with `progtheory.config.override`, never by editing these in place.

  * `tiny()`     seconds on 2 CPU cores; for tests and smoke runs.
  * `default()`  the README's fixed-size run (a few minutes on 2 CPU cores).
  * `tuned()`    `default()` at its tuned LR: the baseline of the progressive experiments.
  * `recipe()`   the paper's recipe at the default size: CompleteP, spectral init, Muon-NSGD.
  * `budgeted()` a config at a step budget and seed as the budget experiments build their runs
                 (`ladder` and the grids that share its runs by id).
  * `demo()`     (fixed, progressive): `default()` and the same run grown from a 0-layer
                 source to full depth at tau = 0.8T (random init, same hyperparameters, WSD).
"""

from __future__ import annotations

from dataclasses import replace

from progtheory.config import DataConfig, GPTConfig, GrowthPlan, ScheduleConfig, TrainConfig, validate


def tiny(corpus: str = "default", progressive: bool = False) -> TrainConfig:
    """Byte-level 2-layer d=32 model, context 32, batch 8, 40 steps; 0 -> 2 at step 20 if
    `progressive`."""
    cfg = TrainConfig(
        model=GPTConfig(vocab_size=256, block_size=32, n_layer=2, n_head=2, n_embd=32, base_width=32),
        data=DataConfig(corpus=corpus, tokenizer="bytes", val_fraction=0.2),
        schedule=ScheduleConfig(kind="wsd", warmup=0.05, decay=0.2),
        steps=40, batch_size=8, lr=1e-2, eval_every=10, eval_batches=2, ckpt_every=10,
        device="cpu", name="tiny",
    )
    if progressive:
        cfg = replace(cfg, growth=GrowthPlan(source_depth=0, stages=((0.5, 2),), init="random"),
                      name="tiny-progressive")
    return validate(cfg)


def default() -> TrainConfig:
    """The fixed-size default: bytes (V=256), 4 layers, d=128, 4 heads, context 64, batch 32,
    AdamW at lr 3e-3, WSD (2% warmup, last 10% linearly to 0), 2000 steps (4.1 M tokens).

    A small vocabulary keeps the blocks, not the LM head, the main share of the FLOPs
    (docs/BACKGROUND.md section 7), which a depth-expansion study needs.  Context 64 with batch 32
    was chosen over context 256 with batch 16 after a pilot at equal tokens (experiments/LOG.md):
    at 2 M tokens it reached val 1.96 nats/byte against 2.48, i.e. the 4-layer model leaves
    the 0-layer (bigram, 2.46) level far sooner, so the source-target margin at tau is wide.
    """
    return validate(TrainConfig(
        model=GPTConfig(vocab_size=256, block_size=64, n_layer=4, n_head=4, n_embd=128, base_width=128),
        data=DataConfig(corpus="default", tokenizer="bytes"),
        schedule=ScheduleConfig(kind="wsd", warmup=0.02, decay=0.1, decay_shape="linear"),
        steps=2000, batch_size=32, lr=3e-3, optimizer="adamw",
        eval_every=100, eval_batches=10, ckpt_every=500, name="default",
    ))


TUNED_LR = 1.5e-3  # default()'s best peak LR on CPU: experiments/baseline_lr.py, experiments/LOG.md


def tuned() -> TrainConfig:
    """`default()` at the peak LR its own sweep found best (TUNED_LR against 7.5e-4, 3e-3 and
    6e-3): the fixed baseline of the progressive comparisons, whose runs use the same
    hyperparameters.  Same run ids as `default()` with lr=TUNED_LR (the name is not hashed)."""
    return validate(replace(default(), lr=TUNED_LR, name="tuned"))


# recipe()'s peak LR: the optimum of every seed in `recipe_lr` (3 seeds, inside the x sqrt(2)
# grid 2.5e-3 .. 1e-2; seed-mean final loss 1.451 at 2.5e-3, 1.444 at 3.5e-3, 1.449 at 5e-3).
# The value is a grid point, so a recipe() run of seed s is that sweep's run (same run id).
RECIPE_LR = 0.003536


def recipe() -> TrainConfig:
    """The paper's recipe at the default size: `default()` with CompleteP (muP with residual
    branches * (L/L0)^-1, L0 = 1, w0 = 128), spectral init of every hidden matrix
    (`theory.init_scale.spectral_std`, also for the blocks that random growth adds),
    Muon-NSGD with momentum 0.95 (one shared LR for the Muon and normalized-SGD groups, the
    same before and after an expansion), WSD, no clipping, weight decay 0.01, peak LR
    RECIPE_LR.  Why CompleteP rather than depth-muP: experiments/LOG.md (the recipe pilot)."""
    base = default()
    model = replace(base.model, parametrization="completep", hidden_init="spectral", base_depth=1)
    return validate(replace(base, model=model, optimizer="muon", lr=RECIPE_LR, grad_clip=0.0,
                            weight_decay=0.01, name="recipe"))


def at_width(cfg: TrainConfig, d: int, n_head: int = 4) -> TrainConfig:
    """`cfg` at width `d` with `n_head` heads, named "<name>-d<d>"; every rule and the LR kept (the
    parametrization's base width transfers the LR): the narrow targets of the CPU experiments."""
    return replace(cfg, model=replace(cfg.model, n_embd=d, n_head=n_head), name=f"{cfg.name}-d{d}")


def budgeted(cfg: TrainConfig, steps: int, seed: int, *, schedule: str = "wsd", decay: float | None = None,
             **changes) -> TrainConfig:
    """`cfg` for `steps` steps at `seed` as `ladder` builds its runs: the LR schedule `schedule`
    with 2% warmup and the last `decay` of the steps decayed (default 0.1 under WSD, 0 otherwise),
    a checkpoint every steps/20 (at least `cfg.ckpt_every`, at most 4,000); `changes` replace other
    fields (weight_decay, ...).  The grids sharing the ladder's runs build them here, so their run
    ids agree."""
    decay = (0.1 if schedule == "wsd" else 0.0) if decay is None else decay
    return replace(cfg, steps=steps, seed=seed, ckpt_every=min(max(cfg.ckpt_every, steps // 20), 4000),
                   schedule=ScheduleConfig(kind=schedule, warmup=0.02, decay=decay), **changes)


def smoke(cfg: TrainConfig) -> TrainConfig:
    """`cfg` at the size and length of `tiny()` (d = 32, 2 layers, 40 steps, CPU), every rule
    (parametrization, init, optimizer, schedule, LR) kept: the smoke variant of an experiment."""
    t = tiny()
    sizes = {k: getattr(t.model, k) for k in ("block_size", "n_layer", "n_head", "n_embd")}
    return validate(replace(cfg, model=replace(cfg.model, **sizes, base_width=t.model.n_embd),
                            steps=t.steps, batch_size=t.batch_size, eval_every=t.eval_every,
                            eval_batches=t.eval_batches, ckpt_every=t.ckpt_every, device="cpu"))


def grown(cfg: TrainConfig, source_depth: int, tau: float, init: str = "random", **plan) -> TrainConfig:
    """`cfg` trained from a `source_depth`-layer model, grown once to `cfg.model.n_layer` at `tau`
    (a fraction of the steps, or a step) by `init`; `plan` sets the other `GrowthPlan` fields
    (old_blocks, init_noise, ...).  The name is kept, so an experiment's grown runs differ from its
    fixed ones by the plan alone."""
    return replace(cfg, growth=GrowthPlan(source_depth=source_depth, stages=((tau, cfg.model.n_layer),), init=init,
                                          **plan))


def progressive(cfg: TrainConfig, source_depth: int = 0, tau: float = 0.8, init: str = "random") -> TrainConfig:
    """`grown(cfg, source_depth, tau, init)`, named "<name>-progressive" and validated; every other
    hyperparameter unchanged."""
    g = grown(cfg, source_depth, tau, init)
    return validate(replace(g, name=f"{cfg.name}-progressive" if cfg.name else "progressive"))


def demo(base: TrainConfig | None = None) -> tuple[TrainConfig, TrainConfig]:
    """(fixed, progressive): `base` (default: `default()`) and its 0-layer -> L run expanded
    at tau = 0.8T with random init, every other hyperparameter the same."""
    fixed = replace(default() if base is None else base, growth=None, name="demo-fixed")
    return fixed, replace(progressive(fixed), name="demo-progressive")


PRESETS = {
    "tiny": tiny,
    "tiny-progressive": lambda: tiny(progressive=True),
    "default": default,
    "tuned": tuned,
    "recipe": recipe,
    "demo-fixed": lambda: demo()[0],
    "demo-progressive": lambda: demo()[1],
}


def get(name: str) -> TrainConfig:
    """The preset called `name`; raises ValueError listing the known names."""
    if name not in PRESETS:
        raise ValueError(f"preset {name!r} is unknown; choose one of {sorted(PRESETS)}")
    return PRESETS[name]()
