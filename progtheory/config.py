"""Frozen, typed run configuration (torch-free).

One `TrainConfig` describes a run completely; variants are made with
`dataclasses.replace` or `override(cfg, {"model.n_layer": 8})`.  The config is
validated by `validate()` before anything is written to disk, and its hash is
the run id.

The model depth `GPTConfig.n_layer` is the *final* (target) depth L.  A
progressive run starts at `GrowthPlan.source_depth` and jumps to larger depths
at the steps listed in `GrowthPlan.stages`.

The option lists a field is checked against come from `theory.options`, and the
step of each growth stage (`resolve_stages`, `depth_at`) from `theory.growth_layout`;
config imports nothing else of the package.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from dataclasses import dataclass, field
from typing import Any

from progtheory.theory.growth_layout import depth_at, resolve_stages  # noqa: F401 (part of the config API)
from progtheory.theory.options import (DECAY_SHAPES, DEVICES, GROWTH_INITS, HIDDEN_INITS, NOISY_COPIES,
                                       OLD_BLOCK_POLICIES, ONE_BLOCK_INITS, OPT_STATE_POLICIES, OPTIMIZERS,
                                       PARAMETRIZATIONS, PLACEMENTS, REWARMUP_SCOPES, SCHEDULES, TOKENIZERS)


class ConfigError(ValueError):
    """An invalid configuration value; the message names the field, the value and the fix."""


@dataclass(frozen=True)
class GPTConfig:
    """GPT-2 architecture and parametrization.

    `n_layer` may be 0: embeddings -> final LayerNorm -> tied head (a bigram-like model).
    `parametrization` selects init std, residual multipliers, per-group LR and Adam eps,
    all supplied by `progtheory.theory.parametrization`.
    """

    vocab_size: int = 8192
    block_size: int = 256          # context length T
    n_layer: int = 4               # target depth L
    n_head: int = 4
    n_embd: int = 256
    bias: bool = True
    parametrization: str = "sp"    # sp | mup | depth-mup | completep
    alpha: float | None = None     # residual exponent override; None = the parametrization's own
    base_depth: int = 1            # depth at which depth rules are the identity
    base_width: int = 256          # width at which width rules are the identity
    init_std: float = 0.02         # base init std (GPT-2)
    hidden_init: str = "normal"    # normal: init_std rules | spectral: theory.init_scale.spectral_std

    @property
    def head_dim(self) -> int:
        return self.n_embd // self.n_head


@dataclass(frozen=True)
class DataConfig:
    corpus: str = "default"        # "default" (embedded), or a path to a text file / folder
    tokenizer: str = "bpe"         # bpe (trained, size model.vocab_size) | bytes (256) | gpt2 (50257)
    val_fraction: float = 0.05     # fraction of documents held out (whole documents)
    split_seed: int = 0


@dataclass(frozen=True)
class ScheduleConfig:
    kind: str = "wsd"              # wsd | cosine | linear | constant
    warmup: float = 0.02           # fraction of total steps
    decay: float = 0.1             # fraction of total steps (wsd only)
    decay_shape: str = "linear"    # linear | cosine | sqrt (wsd only)
    final_lr_frac: float = 0.0     # final LR as a fraction of peak


@dataclass(frozen=True)
class GrowthPlan:
    """Depth schedule of a progressive run.

    `stages` is a tuple of (step, depth) pairs: at the start of `step` the model grows to
    `depth`.  `tau` may be given as a fraction of the run (0 < tau < 1) or a step count.
    The last stage's depth must equal `GPTConfig.n_layer`.
    """

    source_depth: int = 0
    stages: tuple[tuple[float, int], ...] = ((0.8, 4),)
    init: str = "random"
    placement: str = "end"         # where new blocks go: "end" or "interleave"
    opt_state: str = "fresh_new"   # fresh_new | reset_all | copy_source
    old_blocks: str = "absorb"     # absorb | rescale | keep: residual multipliers of existing blocks
    rewarmup_steps: int = 0        # LR ramp after each stage (0 = none, the default: no re-warmup)
    rewarmup_scope: str = "new"    # new: ramp the new parameters only | all: re-warm the whole model
    allow_outside_stable: bool = False
    init_scale: float = 1.0        # every Linear weight and bias of each new block times this (LayerNorms kept)
    init_noise: float = 0.0        # epsilon of copy_noise (copy + eps fresh) and copy_mix (sqrt(1-eps^2) copy + eps fresh)


@dataclass(frozen=True)
class TrainConfig:
    model: GPTConfig = field(default_factory=GPTConfig)
    data: DataConfig = field(default_factory=DataConfig)
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)
    growth: GrowthPlan | None = None
    steps: int = 1000
    batch_size: int = 16
    lr: float = 3e-3
    optimizer: str = "adamw"
    weight_decay: float = 0.01
    beta1: float = 0.9
    beta2: float = 0.95
    eps: float = 1e-8
    momentum: float = 0.9          # sgd
    muon_momentum: float = 0.95    # muon (Nesterov), on every group
    nsgd_lr_mult: float = 1.0      # muon: LR multiplier of the normalized-SGD groups (1 = one shared LR)
    grad_clip: float = 0.0         # 0 = no clipping (the paper's setting)
    eval_every: int = 50
    eval_batches: int = 20
    ckpt_every: int = 200
    seed: int = 0
    device: str = "auto"           # auto | cpu | cuda
    compile: bool = False
    name: str = ""                 # free-form label; not part of the run id


# ----------------------------------------------------------------------------- serialisation

def to_dict(cfg: Any) -> dict:
    return dataclasses.asdict(cfg)


def _from_dict(cls, d: dict):
    kwargs = {}
    hints = {f.name: f for f in dataclasses.fields(cls)}
    for k, v in d.items():
        if k not in hints:
            raise ConfigError(f"unknown field {cls.__name__}.{k}={v!r}; known: {sorted(hints)}")
        kwargs[k] = v
    return cls(**kwargs)


def from_dict(d: dict) -> TrainConfig:
    d = dict(d)
    sub = {"model": GPTConfig, "data": DataConfig, "schedule": ScheduleConfig}
    for key, cls in sub.items():
        if key in d and isinstance(d[key], dict):
            d[key] = _from_dict(cls, d[key])
    if d.get("growth") is not None and isinstance(d["growth"], dict):
        g = dict(d["growth"])
        if isinstance(g.get("stages"), (list, tuple)):  # JSON lists -> tuples; validate() checks the rest
            g["stages"] = tuple(tuple(st) if isinstance(st, (list, tuple)) else st for st in g["stages"])
        d["growth"] = _from_dict(GrowthPlan, g)
    return _from_dict(TrainConfig, d)


def from_run_json(d: dict) -> TrainConfig:
    """The config of a run folder's config.json, which holds the config's fields beside the
    run's `run_id` (written by the trainer)."""
    return from_dict({k: v for k, v in d.items() if k != "run_id"})


# Fields added after results were committed, with their defaults: left out of the run id
# while at the default, so the ids of earlier runs (which had no such field) do not change.
LATE_FIELDS = {
    ("model", "hidden_init"): "normal",
    ("muon_momentum",): 0.95,
    ("nsgd_lr_mult",): 1.0,
    ("growth", "init_scale"): 1.0,
    ("growth", "init_noise"): 0.0,
}


def run_id(cfg: TrainConfig) -> str:
    """Short hash of everything that determines the run (the `name` label and the
    `LATE_FIELDS` at their defaults excluded)."""
    d = to_dict(cfg)
    d.pop("name", None)
    for path, default in LATE_FIELDS.items():
        node = d
        for key in path[:-1]:
            node = node[key] if node is not None else None
        if node is not None and node.get(path[-1]) == default:
            node.pop(path[-1])
    blob = json.dumps(d, sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()[:10]


def _parse_value(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def override(cfg: TrainConfig, changes: dict[str, Any]) -> TrainConfig:
    """Return `cfg` with dotted fields replaced, e.g. {"model.n_layer": 8, "lr": 1e-3}.

    String values are parsed as JSON when possible ("8" -> 8, "null" -> None).
    """
    d = to_dict(cfg)
    for key, value in changes.items():
        if isinstance(value, str):
            value = _parse_value(value)
        node = d
        parts = key.split(".")
        for p in parts[:-1]:
            if p == "growth" and node.get("growth") is None:
                node["growth"] = to_dict(GrowthPlan())
            if p not in node or not isinstance(node[p], dict):
                raise ConfigError(f"unknown config field {key!r}; use dotted names such as model.n_layer")
            node = node[p]
        if parts[-1] not in node:
            raise ConfigError(f"unknown config field {key!r}; known at this level: {sorted(node)}")
        node[parts[-1]] = value
    return from_dict(d)


# ----------------------------------------------------------------------------- validation

def _check(ok: bool, msg: str) -> None:
    if not ok:
        raise ConfigError(msg)


_SUBCONFIGS = {"GPTConfig": GPTConfig, "DataConfig": DataConfig, "ScheduleConfig": ScheduleConfig,
               "GrowthPlan": GrowthPlan}


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v: Any) -> bool:
    return (isinstance(v, (int, float)) and not isinstance(v, bool)) and math.isfinite(v)


def _check_field(name: str, value: Any, kind: str, default: Any) -> None:
    """One field against its annotation: int (no floats, no booleans), float (a finite number),
    bool, str, a sub-config, or `X | None`."""
    hint = f"; e.g. --set {name}={json.dumps(default)}" if not dataclasses.is_dataclass(default) else ""
    if kind.endswith(" | None"):
        if value is None:
            return
        kind = kind[: -len(" | None")]
    if kind in _SUBCONFIGS:
        _check(isinstance(value, _SUBCONFIGS[kind]),
               f"{name}={value!r} must be a table of {kind} fields, not a single value; set one field "
               f"at a time, e.g. --set {name}.{dataclasses.fields(_SUBCONFIGS[kind])[0].name}=...")
        _check_types(value, name + ".")
    elif kind == "int":
        _check(_is_int(value), f"{name}={value!r} must be an integer (not {type(value).__name__}){hint}")
    elif kind == "float":
        _check(_is_number(value), f"{name}={value!r} must be a finite number{hint}")
    elif kind == "bool":
        _check(isinstance(value, bool), f"{name}={value!r} must be true or false{hint}")
    elif kind == "str":
        _check(isinstance(value, str), f"{name}={value!r} must be a string{hint}")
    elif name.endswith("growth.stages"):
        _check_stages(name, value)


def _check_stages(name: str, stages: Any) -> None:
    """Each stage is a (tau, depth) pair: tau a fraction in (0, 1) (a float) or a step (an integer);
    a float outside (0, 1) is refused rather than guessed to be a step."""
    example = "e.g. --set 'growth.stages=[[0.8, 4]]' (tau as a fraction) or [[1600, 4]] (tau as a step)"
    _check(isinstance(stages, (list, tuple)), f"{name}={stages!r} must be a list of [tau, depth] pairs; {example}")
    for i, st in enumerate(stages):
        _check(isinstance(st, (list, tuple)) and len(st) == 2,
               f"{name}[{i}]={st!r} must be a [tau, depth] pair; {example}")
        tau, depth = st
        _check(_is_int(tau) or _is_number(tau),
               f"{name}[{i}] tau={tau!r} must be a fraction in (0, 1) or an integer step; {example}")
        _check(_is_int(tau) or 0 < tau < 1,
               f"{name}[{i}] tau={tau!r} is a float outside (0, 1): give tau as a fraction of the steps in "
               f"(0, 1), or as an integer step (write {int(tau) if math.isfinite(tau) else 'N'}, not {tau!r})")
        _check(_is_int(depth), f"{name}[{i}] depth={depth!r} must be an integer number of layers; {example}")


def _check_types(obj: Any, prefix: str = "") -> None:
    for f in dataclasses.fields(obj):
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
        _check_field(prefix + f.name, getattr(obj, f.name), f.type, default)


def validate(cfg: TrainConfig) -> TrainConfig:
    """Raise ConfigError naming the field, the value and the fix; return cfg when valid.

    First every field is checked against its type (integers refuse floats and booleans,
    numbers must be finite, sub-configs must be tables), then the ranges and the growth plan.
    """
    _check(isinstance(cfg, TrainConfig), f"config {cfg!r} must be a progtheory.TrainConfig")
    _check_types(cfg)
    m, s, dc = cfg.model, cfg.schedule, cfg.data
    _check(m.n_layer >= 0, f"model.n_layer={m.n_layer} must be >= 0 (0 = embeddings-only model)")
    _check(m.n_embd > 0, f"model.n_embd={m.n_embd} must be > 0")
    _check(m.n_head > 0 and m.n_embd % m.n_head == 0,
           f"model.n_head={m.n_head} must be > 0 and divide model.n_embd={m.n_embd}")
    _check(m.block_size > 0, f"model.block_size={m.block_size} (context length) must be > 0")
    _check(m.vocab_size > 0, f"model.vocab_size={m.vocab_size} must be > 0")
    _check(m.parametrization in PARAMETRIZATIONS,
           f"model.parametrization={m.parametrization!r} is unknown; choose one of {PARAMETRIZATIONS}")
    _check(m.alpha is None or 0.0 <= m.alpha <= 1.0, f"model.alpha={m.alpha} must lie in [0, 1] or be null")
    _check(m.base_depth >= 1, f"model.base_depth={m.base_depth} must be >= 1")
    _check(m.base_width >= 1, f"model.base_width={m.base_width} must be >= 1")
    _check(m.init_std > 0, f"model.init_std={m.init_std} must be > 0")
    _check(m.hidden_init in HIDDEN_INITS,
           f"model.hidden_init={m.hidden_init!r} is unknown; choose one of {HIDDEN_INITS}")
    _check(0 <= cfg.muon_momentum < 1, f"muon_momentum={cfg.muon_momentum} must lie in [0, 1)")
    _check(cfg.nsgd_lr_mult > 0, f"nsgd_lr_mult={cfg.nsgd_lr_mult} must be > 0 (1 = the shared LR)")
    _check(cfg.optimizer in OPTIMIZERS, f"optimizer={cfg.optimizer!r} is unknown; choose one of {OPTIMIZERS}")
    _check(cfg.lr > 0, f"lr={cfg.lr} must be > 0")
    _check(cfg.steps > 0, f"steps={cfg.steps} must be > 0")
    _check(cfg.batch_size > 0, f"batch_size={cfg.batch_size} must be > 0")
    _check(cfg.weight_decay >= 0, f"weight_decay={cfg.weight_decay} must be >= 0")
    _check(cfg.grad_clip >= 0, f"grad_clip={cfg.grad_clip} must be >= 0 (0 disables clipping)")
    _check(0 <= cfg.beta1 < 1 and 0 <= cfg.beta2 < 1, f"beta1={cfg.beta1}, beta2={cfg.beta2} must lie in [0, 1)")
    _check(cfg.eps > 0, f"eps={cfg.eps} must be > 0")
    _check(cfg.eval_every > 0, f"eval_every={cfg.eval_every} must be > 0")
    _check(cfg.eval_batches > 0, f"eval_batches={cfg.eval_batches} must be > 0")
    _check(cfg.ckpt_every > 0, f"ckpt_every={cfg.ckpt_every} must be > 0")
    _check(cfg.device in DEVICES, f"device={cfg.device!r} must be auto, cpu or cuda")
    _check(0 <= cfg.seed < 2**32, f"seed={cfg.seed} must lie in [0, 2**32); e.g. --set seed=0")
    _check(0 <= dc.split_seed < 2**32, f"data.split_seed={dc.split_seed} must lie in [0, 2**32)")
    _check(cfg.momentum >= 0, f"momentum={cfg.momentum} must be >= 0")
    _check(dc.corpus != "", "data.corpus='' is empty; give 'default' or a path to a text file or folder")
    _check(s.kind in SCHEDULES, f"schedule.kind={s.kind!r} is unknown; choose one of {SCHEDULES}")
    _check(s.decay_shape in DECAY_SHAPES,
           f"schedule.decay_shape={s.decay_shape!r} is unknown; choose one of {DECAY_SHAPES}")
    _check(0 <= s.warmup < 1, f"schedule.warmup={s.warmup} must be a fraction in [0, 1)")
    _check(0 <= s.decay <= 1, f"schedule.decay={s.decay} must be a fraction in [0, 1]")
    _check(s.warmup + s.decay <= 1,
           f"schedule.warmup + schedule.decay = {s.warmup} + {s.decay} > 1; shorten one of them")
    _check(0 <= s.final_lr_frac <= 1, f"schedule.final_lr_frac={s.final_lr_frac} must lie in [0, 1]")
    _check(dc.tokenizer in TOKENIZERS, f"data.tokenizer={dc.tokenizer!r} is unknown; choose one of {TOKENIZERS}")
    _check(0 < dc.val_fraction < 1, f"data.val_fraction={dc.val_fraction} must lie in (0, 1)")
    need = {"bytes": 256, "gpt2": 50257}.get(dc.tokenizer)
    _check(need is None or m.vocab_size == need,
           f"model.vocab_size={m.vocab_size} does not match data.tokenizer={dc.tokenizer!r}; set model.vocab_size={need}")
    _check(dc.tokenizer != "bpe" or m.vocab_size >= 257,
           f"model.vocab_size={m.vocab_size} must be >= 257 for a byte-level BPE (256 bytes + merges)")
    if cfg.growth is not None:
        _validate_growth(cfg)
    return cfg


def _validate_growth(cfg: TrainConfig) -> None:
    g, L, T = cfg.growth, cfg.model.n_layer, cfg.steps
    _check(g.init in GROWTH_INITS, f"growth.init={g.init!r} is unknown; choose one of {GROWTH_INITS}")
    _check(g.placement in PLACEMENTS,
           f"growth.placement={g.placement!r} must be 'end' or 'interleave'")
    _check(g.opt_state in OPT_STATE_POLICIES,
           f"growth.opt_state={g.opt_state!r} is unknown; choose one of {OPT_STATE_POLICIES}")
    _check(g.old_blocks in OLD_BLOCK_POLICIES,
           f"growth.old_blocks={g.old_blocks!r} is unknown; choose one of {OLD_BLOCK_POLICIES}")
    _check(g.rewarmup_steps >= 0, f"growth.rewarmup_steps={g.rewarmup_steps} must be >= 0")
    _check(isinstance(g.init_scale, (int, float)) and not isinstance(g.init_scale, bool)
           and math.isfinite(g.init_scale) and g.init_scale >= 0,
           f"growth.init_scale={g.init_scale!r} must be a finite number >= 0 (1 = the parametrization's own init)")
    _check(isinstance(g.init_noise, (int, float)) and not isinstance(g.init_noise, bool)
           and math.isfinite(g.init_noise) and g.init_noise >= 0,
           f"growth.init_noise={g.init_noise!r} must be a finite number >= 0 (the fresh draw's weight)")
    _check(g.init_noise == 0 or g.init in NOISY_COPIES,
           f"growth.init_noise={g.init_noise!r} has no effect with growth.init={g.init!r}; use init='copy_noise' "
           f"or 'copy_mix', or leave init_noise at 0")
    _check(g.init != "copy_mix" or g.init_noise <= 1,
           f"growth.init_noise={g.init_noise!r} must lie in [0, 1] for init='copy_mix' (sqrt(1 - eps^2) x copy + eps x fresh)")
    _check(g.rewarmup_scope in REWARMUP_SCOPES, f"growth.rewarmup_scope={g.rewarmup_scope!r} must be 'new' or 'all'")
    _check(g.source_depth >= 0, f"growth.source_depth={g.source_depth} must be >= 0")
    _check(len(g.stages) > 0, "growth.stages is empty; give at least one (tau, depth) pair")
    stages = resolve_stages(cfg)
    prev_step, prev_depth = 0, g.source_depth
    for (raw, _), (step, depth) in zip(g.stages, stages):
        _check(0 < step < T, f"growth tau={raw} resolves to step {step}, which must lie in (0, steps={T}); "
                             f"give a fraction in (0, 1) or a step in (0, {T})")
        _check(step > prev_step or prev_step == 0 and step > 0,
               f"growth stages must have increasing steps; got step {step} after {prev_step}")
        _check(depth > prev_depth, f"growth stage depth {depth} must exceed the previous depth {prev_depth} "
                                   f"(source_depth={g.source_depth}); the source must be shallower than the target")
        prev_step, prev_depth = step, depth
        if not g.allow_outside_stable:
            w_end = cfg.schedule.warmup * T
            d_start = (1 - cfg.schedule.decay) * T if cfg.schedule.kind == "wsd" else T
            _check(w_end <= step <= d_start,
                   f"growth tau step {step} lies inside the warmup or decay phase, outside [{w_end:.0f}, {d_start:.0f}]; "
                   f"move tau or set growth.allow_outside_stable=true to study it on purpose")
    _check(prev_depth == L, f"last growth stage depth {prev_depth} must equal model.n_layer={L}")
    if g.init in ("copy", "copy_zero", *NOISY_COPIES):
        _check(g.source_depth >= 1, f"growth.init={g.init!r} copies a block, but growth.source_depth=0 has none; "
                                    f"use init='random' (or 'random_zero_out') for a 0-layer source")
    if g.init in ONE_BLOCK_INITS:
        _check(g.source_depth == 1 and len(g.stages) == 1,
               f"growth.init={g.init!r} repeats the single block of a one-layer source in one stage; got "
               f"source_depth={g.source_depth} with {len(g.stages)} stage(s): use copy_stack or copy_inter")
    if g.init in ("copy_stack", "copy_inter", "copy_last"):
        _check(g.source_depth >= 1, f"growth.init={g.init!r} needs growth.source_depth >= 1, got {g.source_depth}")
