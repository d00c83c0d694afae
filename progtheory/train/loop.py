"""The training loop: one frozen config in, a run directory of tidy results out.

`train(cfg, out_dir)` validates everything before writing anything, then writes

  * ``config.json``      the config and its `run_id`, before step 0;
  * ``provenance.json``  git SHA and dirty flag, library versions, device, seed, time, argv
                         (one entry per start under "resumes" when a run is continued);
  * ``metrics.csv``      one row per step (columns below), written when the step's loss is
                         read (see "Reading the loss") and always before a checkpoint or the
                         summary, so an interrupted run holds the row of every step it counted;
  * ``ckpt.pt``          model, optimizer, step, depth, RNG states and counters, written
                         atomically every `checkpoint_interval(cfg)` steps (`ckpt_every`,
                         capped at a quarter of the run so a short run has checkpoints too)
                         and at the end;
  * ``summary.json``     one flat record per run: status, final/best val loss, totals
                         (also as the one-row table ``summary.csv``);
  * ``.lock``            while a process writes the folder: its exclusive lock, naming its
                         pid (`progtheory.train.run_lock`; deleted at the end);
  * ``growth_stats_<step>.json``  for a progressive run, the statistics of each growth step
                         (`_grow_logged`, `_log_jolt`);
  * ``symmetry.jsonl``   for a run whose growth copies blocks, one line per probed state: how far
                         the copies have separated (`progtheory.train.symmetry.copy_symmetry` on the
                         first validation batch), at the states `symmetry.probe_plan` lists:
                         tau + 0, 1, 2, 5, 10, 20, 50, ... updates after each copying growth step,
                         every evaluated state after it, and the last state.  Line ``step`` = s is
                         the model after s updates (s = tau: just grown); it changes nothing
                         training computes (no random numbers, no gradients, its time counted as
                         evaluation).

Status: "completed", "interrupted" (stopped early; resume it), or "diverged": the training
loss or a validation loss is not finite, or the validation loss exceeds
ln(vocab_size) + DIVERGE_MARGIN nats (a uniform guess scores ln(vocab_size)) at
DIVERGE_EVALS consecutive evaluations or at the last one.  A diverged run stops there: its
rows, counters and summary end at that step, and no checkpoint is written after it.

Reading the loss: on CPU the loop reads each step's training loss before its update (a
non-finite loss skips it) and writes its row at once.  On CUDA the losses stay on the device
and are read in one transfer after every `CUDA_SYNC_EVERY` steps and after each evaluation,
checkpoint, copy-symmetry probe, jolt measurement and stop (`_read_steps`; `SYNC_EVERY` sets
the interval), so the host never waits for the device in between.  A non-finite loss then
ends the run at the first read after it, with the rows and counters it had at that step, as
on CPU; the updates the device made after it are discarded with the run (no checkpoint,
no evaluation).  The wall_time of a row that is not read is the host's time: the device may
still be working on its step, and the next read adds that time, so each read row's
wall_time is exact.

Metrics columns (row `step` = t is written after the update of step t, 0-based):
  run_id, step, tokens (cumulative, incl. step t), flops (cumulative fwd+bwd matmul FLOPs,
  exact convention incl. attention and head, at the depth used by each step), flops_6n
  (cumulative, the 6N convention with N = all parameters at that depth; both conventions
  are defined in `progtheory.theory.compute`), depth, lr (the scheduled base
  LR cfg.lr * lr_factor(t), before per-group multipliers), train_loss (the loss of step t's
  batch, before its update), val_loss (mean over the fixed validation batches after step t's
  update; empty when not evaluated), wall_time (seconds spent in training steps since the
  run's first start, evaluation and checkpointing excluded).

Evaluation happens every `eval_every` steps, at the last step, and at the step before each
growth stage (so the source model's loss at tau is always recorded).

Resume: the data batches are a pure function of (seed, step), the new-block init at a
growth step draws from a generator seeded by (seed, step), and the checkpoint holds the
model, optimizer and RNG states, so a resumed run reproduces the uninterrupted rows exactly
on CPU.  Rows after the checkpoint step are dropped on resume, so no step appears twice;
likewise the lines of symmetry.jsonl from the checkpoint's state on (the resumed run writes
them again).
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import math
import os
import random
import re
import sys
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from progtheory import config as C
from progtheory.config import ConfigError, TrainConfig
from progtheory.core.model import GPT
from progtheory.core.optim import build_optimizer, set_lr
from progtheory.theory import compute
from progtheory.theory.schedules import schedule_from_config
from progtheory.train import distributed, provenance, run_lock, symmetry

METRIC_COLUMNS = ("run_id", "step", "tokens", "flops", "flops_6n", "depth", "lr",
                  "train_loss", "val_loss", "wall_time")
SUMMARY_KEYS = ("run_id", "name", "status", "steps", "steps_done", "tokens", "depth", "params",
                "final_val_loss", "final_val_step", "best_val_loss", "final_train_loss", "unigram_xent_val",
                "flops", "flops_6n", "wall_time", "cpu_time", "eval_time", "device", "end_time", "diverged_reason")
STATUSES = ("completed", "diverged", "interrupted")
RUN_FILES = ("config.json", "provenance.json", "metrics.csv", "summary.json", "summary.csv", "ckpt.pt")
CKPT = "ckpt.pt"
DIVERGE_MARGIN = 2.0   # nats above ln(vocab_size), the loss of a uniform guess
DIVERGE_EVALS = 2      # consecutive evaluations above that bound
CKPT_FRACTION = 4      # at least this many checkpoints per run: interval <= steps // CKPT_FRACTION
PSEUDO_FS = ("/proc", "/sys", "/dev")
MEMORY_FS = ("/dev/shm",)  # tmpfs folders inside PSEUDO_FS where runs can be written
# Steps between the host's reads of the training loss (`_read_steps`).  1: read before each
# update, which a non-finite loss skips (the CPU default).  k > 1: the losses stay on the device
# and are read every k steps and at each evaluation, checkpoint and stop, so the host queues
# steps without waiting for the device (the CUDA default, CUDA_SYNC_EVERY).  None picks by
# device.  Not a config field: it changes when results are read, not what they are.
SYNC_EVERY: int | None = None
CUDA_SYNC_EVERY = 100


def divergence_bound(cfg: TrainConfig) -> float:
    """Validation loss (nats/token) above which an evaluation counts towards divergence:
    ln(vocab_size), the loss of a uniform guess, plus DIVERGE_MARGIN."""
    return math.log(cfg.model.vocab_size) + DIVERGE_MARGIN


def checkpoint_interval(cfg: TrainConfig) -> int:
    """Steps between checkpoints: `ckpt_every`, capped at steps // CKPT_FRACTION (at least 1)."""
    return max(1, min(cfg.ckpt_every, cfg.steps // CKPT_FRACTION))


# ----------------------------------------------------------------------------- checks before writing

def resolve_device(device: str) -> str:
    """"auto" -> "cuda" when available, else "cpu"; "cuda" without a GPU is a ConfigError."""
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device='cuda' but torch sees no CUDA device; set device=auto or device=cpu")
    return device


def check_out_dir(out) -> None:
    """Refuse an output folder that cannot be created or written: one below a regular file,
    in a pseudo file system (/proc, /sys, /dev; a tmpfs of MEMORY_FS such as /dev/shm is
    accepted), or whose nearest existing folder is not writable.  Writes nothing."""
    out = Path(out)
    full = Path(os.path.abspath(out))
    in_memory_fs = any(Path(m) in full.parents for m in MEMORY_FS)
    for pseudo in PSEUDO_FS:
        if (full == Path(pseudo) or Path(pseudo) in full.parents) and not in_memory_fs:
            raise ConfigError(f"--out {out} lies in {pseudo}, a system folder where runs cannot be written; "
                              f"choose a folder of your own, e.g. --out runs/NAME")
    if full.exists() and not full.is_dir():
        raise ConfigError(f"run directory {out} exists and is not a directory; choose another --out")
    probe = full
    while not probe.exists():
        probe = probe.parent
    if not probe.is_dir():
        raise ConfigError(f"--out {out} lies below {probe}, which is a file, not a folder; choose another --out")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise ConfigError(f"--out {out}: the folder {probe} is not writable; choose a folder you can write to")


def _read_json(path: Path, what_to_do: str) -> dict:
    """A run file's JSON object, or a ConfigError naming the file and what to do."""
    try:
        obj = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, ValueError) as e:
        raise ConfigError(f"cannot resume: {path} is corrupt or truncated ({type(e).__name__}: {e}); "
                          f"{what_to_do}") from None
    if not isinstance(obj, dict):
        raise ConfigError(f"cannot resume: {path} holds {type(obj).__name__}, not a JSON object; {what_to_do}")
    return obj


def check_run_dir(out, cfg: TrainConfig, resume: bool = False, overwrite: bool = False) -> str:
    """Decide what `train` will do with run directory `out`, writing nothing: 'fresh' (absent
    or empty dir, or overwrite), 'resume', or 'done' (resume of a completed or diverged run).
    Call it while holding the folder's lock (`run_lock.acquire`), so that no other process
    changes the folder between this decision and the writes that follow it.
    Raises ConfigError for an unusable folder (`check_out_dir`), an existing directory without
    resume/overwrite, a resume of a folder that holds no run, a resume of a directory written
    by another config or whose config.json was edited (`check_stored_config`), a corrupt
    config.json, summary.json or provenance.json, or a damaged checkpoint of a finished run
    (`check_checkpoint_file`; an unfinished run's checkpoint and metrics.csv are checked by
    `train` when it loads them)."""
    out = Path(out)
    if resume and overwrite:
        raise ConfigError("resume=True and overwrite=True contradict each other; pass only one "
                          "(--resume continues the run, --overwrite replaces it)")
    check_out_dir(out)
    if not out.exists() or not any(p.name != run_lock.LOCK_NAME for p in out.iterdir()):
        if resume:  # absent, or holding only the lock a writer takes before anything else
            raise ConfigError(f"cannot resume: {out} holds no run, so there is nothing to resume; "
                              f"drop --resume (resume=True) to start the run there")
        return "fresh"
    if overwrite:
        return "fresh"
    if not resume:
        raise ConfigError(f"run directory {out} already exists; pass resume=True (--resume) to continue "
                          f"it, overwrite=True (--overwrite) to replace it, or choose another --out")
    cfg_file = out / "config.json"
    if not cfg_file.is_file():
        raise ConfigError(f"cannot resume: {out} holds no config.json, so it is not a run directory; "
                          f"choose another --out or pass overwrite=True (--overwrite)")
    restart = "pass --overwrite to start the run again"
    check_stored_config(cfg_file, _read_json(cfg_file, restart), cfg)
    if (out / "provenance.json").is_file():
        _read_json(out / "provenance.json", f"delete it to resume with a fresh provenance record, or {restart}")
    summary = out / "summary.json"
    if summary.is_file():
        status = _read_json(summary, f"delete it and --resume again (training continues from {CKPT}), "
                                     f"or {restart}").get("status")
        if status in ("completed", "diverged"):
            check_checkpoint_file(out / CKPT, status)
            return "done"
    return "resume"


def _flat(d: dict, prefix: str = "") -> dict:
    """{"model": {"n_layer": 2}} -> {"model.n_layer": 2}, lists and tuples alike."""
    out = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(_flat(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = json.loads(json.dumps(v))
    return out


def _differences(stored: dict, cfg: TrainConfig) -> str:
    """The fields of a config.json that differ from `cfg` (the `name` label aside), as
    "lr 0.02 in the file, 0.01 in this config"."""
    try:
        stored = C.to_dict(C.from_run_json(stored))   # a file without the late fields reads as their defaults
    except (ConfigError, TypeError, ValueError):
        stored = {k: v for k, v in stored.items() if k != "run_id"}
    mine, theirs = _flat(C.to_dict(cfg)), _flat(stored)
    keys = sorted(k for k in set(mine) | set(theirs)
                  if k != "name" and mine.get(k, "absent") != theirs.get(k, "absent"))
    return "; ".join(f"{k} {json.dumps(theirs.get(k, 'absent'))} in the file, {json.dumps(mine.get(k, 'absent'))} "
                     f"in this config" for k in keys) or "no field"


def check_stored_config(cfg_file: Path, stored: dict, cfg: TrainConfig) -> None:
    """Refuse to resume from a config.json that has no run_id, whose fields were edited after
    the run started (they no longer hash to its run_id), or that belongs to another config;
    the message names the fields that differ and how to restore them."""
    want, old_id = C.run_id(cfg), stored.get("run_id")
    try:
        own = C.run_id(C.from_run_json(stored))
    except (ConfigError, TypeError, ValueError):
        own = None
    if old_id is None:
        if own == want:
            raise ConfigError(f"cannot resume: {cfg_file} has no run_id; restore it by adding \"run_id\": "
                              f"\"{want}\" to the file (its fields are this config's, run {want}), then --resume again")
        raise ConfigError(f"cannot resume: {cfg_file} has no run_id and its fields differ from this config "
                          f"(run {want}): {_differences(stored, cfg)}; restore the file, resume with the config it "
                          f"was trained with, or pass --overwrite to start the run again")
    if own != old_id and old_id == want:
        raise ConfigError(f"cannot resume: {cfg_file} was edited after run {old_id} started: "
                          f"{_differences(stored, cfg)}; the run was trained with this config's values: put them "
                          f"back in the file, or start a new run with --overwrite or another --out")
    if own != old_id:
        now = f"its fields are now those of run {own}" if own else "its fields no longer form a valid config"
        raise ConfigError(f"cannot resume: {cfg_file} was edited after run {old_id} started ({now}); resume "
                          f"with the config run {old_id} was trained with, or start a new run with --overwrite "
                          f"or another --out")
    if old_id != want:
        raise ConfigError(f"cannot resume: {cfg_file.parent} holds run {old_id}, but this config is run {want} "
                          f"({_differences(stored, cfg)}); use the same config, another --out, or --overwrite")


def check_checkpoint_file(path: Path, status: str) -> None:
    """Refuse a damaged checkpoint of a finished run, which `train` returns without loading:
    its zip structure and every entry's CRC are checked (torch.save writes a zip)."""
    if not path.is_file():
        return
    try:
        with zipfile.ZipFile(path) as z:
            bad = z.testzip()
        damage = None if bad is None else f"entry {bad} fails its CRC check"
    except (OSError, EOFError, zipfile.BadZipFile, zipfile.LargeZipFile) as e:
        damage = f"{type(e).__name__}: {e}"
    if damage:
        raise ConfigError(f"cannot resume: {path} is damaged ({damage}); the run is {status} and its results "
                          f"(summary.json, metrics.csv) stand without it: delete {path} to keep them as they are, "
                          f"or pass --overwrite to train the run again")


def memory_estimate(cfg: TrainConfig) -> dict[str, int]:
    """Bytes a training step of `cfg` needs at its final depth, as an order of magnitude.

    Assumptions: fp32 tensors (4 bytes); weights, gradients and two Adam moments
    (16 bytes per parameter); per layer and token about 16 d + 2 n_head T activations kept for
    the backward pass (the QKV, attention output, MLP hidden 4d and residuals, plus the
    attention probabilities), after Korthikanti et al. 2022, "Reducing activation
    recomputation", eq. 2 without dropout masks; logits and their gradient (3 V per token);
    the token batches (int64 inputs and targets) of one training and `eval_batches`
    validation batches.  Returns {"params", "activations", "batches", "total"} in bytes.
    """
    m = cfg.model
    tokens = cfg.batch_size * m.block_size
    params = 16 * compute.param_count(m, depth=m.n_layer)
    acts = 4 * tokens * (m.n_layer * (16 * m.n_embd + 2 * m.n_head * m.block_size) + 3 * m.vocab_size)
    batches = 16 * tokens * (1 + cfg.eval_batches)
    return {"params": params, "activations": acts, "batches": batches, "total": params + acts + batches}


def check_memory(cfg: TrainConfig, device: str) -> dict:
    """Refuse a config whose estimated training memory (`memory_estimate`) exceeds the
    device's total memory, before anything is allocated; return the estimate."""
    est = memory_estimate(cfg)
    if device.startswith("cuda"):
        limit = torch.cuda.get_device_properties(torch.device(device)).total_memory
    else:
        limit = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    if est["total"] > limit:
        gib = 2.0**30
        raise ConfigError(
            f"batch_size={cfg.batch_size} x model.block_size={cfg.model.block_size} needs about "
            f"{est['total'] / gib:,.1f} GiB (weights and optimizer {est['params'] / gib:,.1f}, activations "
            f"{est['activations'] / gib:,.1f}, token batches {est['batches'] / gib:,.1f}), more than the "
            f"{limit / gib:,.1f} GiB of {device} memory; lower batch_size, model.block_size or the model size")
    return est


def _load_data(cfg: TrainConfig, quiet: bool):
    """Load the corpus through `progtheory.data`; raise ConfigError for a missing or bad corpus."""
    from progtheory import data as D

    corpus = cfg.data.corpus
    if corpus != "default" and not Path(corpus).exists():
        raise ConfigError(f"data.corpus={corpus!r} does not exist; give a .txt file or a folder of "
                          f".txt files, or 'default' for the embedded corpus")
    try:
        data = D.prepare_data(cfg.data, cfg.model.vocab_size, progress=not quiet)
    except ConfigError:
        raise
    except ImportError as e:
        hint = str(e) if "pip install" in str(e) else (f"{e.name or e}; install it with pip install "
                                                        f"'progtheory[gpt2]' or use data.tokenizer=bytes or bpe")
        raise ConfigError(f"data.tokenizer={cfg.data.tokenizer!r} needs a package that is not installed "
                          f"({hint})") from None
    except (OSError, ValueError) as e:
        raise ConfigError(f"data.corpus={corpus!r} could not be loaded ({e}); fix the corpus or "
                          f"point data.corpus at a readable text file or folder") from e
    if data.vocab_size != cfg.model.vocab_size:
        raise ConfigError(f"model.vocab_size={cfg.model.vocab_size} does not match the tokenizer's "
                          f"vocabulary {data.vocab_size}; set model.vocab_size={data.vocab_size}")
    need = cfg.model.block_size + 2
    for split in ("train", "val"):
        n = len(getattr(data, split))
        if n < need:
            raise ConfigError(f"the {split} split of data.corpus={corpus!r} has {n} tokens, fewer than "
                              f"model.block_size + 2 = {need}; use a larger corpus or a shorter block_size")
    return data


# ----------------------------------------------------------------------------- small helpers

def _tmp(path: Path) -> Path:
    """A temporary name beside `path` that no other process uses, for a write then rename."""
    return path.with_name(f"{path.name}.{os.getpid()}.tmp")


def _remove_temporaries(out: Path) -> None:
    """Delete the temporary files (``NAME.<pid>.tmp``) a killed writer left in `out`; called
    under the run's lock, so none of them belongs to a live writer."""
    for p in out.glob("*.tmp"):
        if re.fullmatch(r".+\.\d+\.tmp", p.name):
            p.unlink(missing_ok=True)


def _write_json(path: Path, obj: dict) -> None:
    tmp = _tmp(path)
    tmp.write_text(json.dumps(obj, indent=2, default=str) + "\n")
    os.replace(tmp, path)


def _growth_generator(cfg: TrainConfig, step: int, device: str) -> torch.Generator:
    """New-block init at `step` draws from a generator seeded by (seed, step), so a resumed
    run grows exactly as the uninterrupted one did."""
    g = torch.Generator(device=device)
    g.manual_seed(cfg.seed * 1_000_003 + step)
    return g


class _FlopCounter:
    """Per-token FLOPs at each depth (exact convention and 6N), cached."""

    def __init__(self, mcfg):
        self._mcfg, self._cache = mcfg, {}

    def per_token(self, depth: int) -> tuple[float, float]:
        if depth not in self._cache:
            exact = float(compute.flops_per_token(self._mcfg, depth=depth, convention="exact"))
            six_n = float(compute.flops_per_token(self._mcfg, depth=depth, convention="6N"))
            self._cache[depth] = (exact, six_n)
        return self._cache[depth]


@dataclass
class _Counters:
    step: int = 0              # next step to run
    flops: float = 0.0
    flops_6n: float = 0.0
    wall_time: float = 0.0     # training-step seconds (eval and checkpoint excluded)
    cpu_time: float = 0.0      # CPU seconds of this process (all threads) in training steps
    bad_evals: int = 0         # consecutive evaluations above `divergence_bound`
    eval_time: float = 0.0
    best_val: float = math.inf
    last_val: float | None = None
    last_val_step: int | None = None
    last_train: float | None = None


# ----------------------------------------------------------------------------- checkpoints

def _rng_state(device: str) -> dict:
    np_state = np.random.get_state()
    state = {
        "torch": torch.get_rng_state(),
        "numpy": (np_state[0], torch.from_numpy(np_state[1].astype(np.int64)), *np_state[2:]),
        "python": random.getstate(),
    }
    if device.startswith("cuda"):
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: dict) -> None:
    torch.set_rng_state(state["torch"])
    name, keys, *rest = state["numpy"]
    np.random.set_state((name, keys.numpy().astype(np.uint32), *rest))
    random.setstate(_as_tuple(state["python"]))
    if "cuda" in state:
        torch.cuda.set_rng_state_all(state["cuda"])


def _as_tuple(x):
    return tuple(_as_tuple(v) for v in x) if isinstance(x, (list, tuple)) else x


def save_checkpoint(path: Path, model, optimizer, counters: _Counters, device: str, run_id: str) -> None:
    """Write the full training state atomically (temporary file, then rename)."""
    state = {
        "run_id": run_id, "depth": model.depth, "model": model.state_dict(),
        "optimizer": optimizer.state_dict(), "counters": vars(counters).copy(),
        "rng": _rng_state(device),
    }
    tmp = _tmp(path)
    torch.save(state, tmp)
    os.replace(tmp, path)


def _load_checkpoint(path: Path, cfg: TrainConfig, device: str):
    """(model, optimizer, counters) from `path`; a ConfigError naming the file when it is
    truncated, corrupt or written by another run."""
    fix = (f"delete {path} and --resume again to restart the run from step 0, "
           f"or pass --overwrite to start it afresh")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
        if state.get("run_id") != C.run_id(cfg):
            raise ConfigError(f"cannot resume: {path} belongs to run {state.get('run_id')}, not "
                              f"{C.run_id(cfg)}; {fix}")
        model = GPT(cfg.model, depth=state["depth"]).to(device)
        model.load_state_dict(state["model"])
        counters = _Counters(**state["counters"])
        optimizer = build_optimizer(model, cfg, counters.step)
        optimizer.load_state_dict(state["optimizer"])
        _set_rng_state(state["rng"])
    except ConfigError:
        raise
    except Exception as e:  # torch.load raises many types for a damaged zip or pickle
        raise ConfigError(f"cannot resume: {path} is corrupt or truncated ({type(e).__name__}: "
                          f"{str(e)[:200]}); {fix}") from None
    return model, optimizer, counters


def check_metrics(path: Path, upto: int) -> None:
    """Refuse a metrics.csv that a resume from step `upto` cannot continue: a wrong header, a
    row that does not parse, or rows that are not the steps 0, 1, ..., upto - 1 in order."""
    fix = "pass --overwrite to start the run again (the rows before the checkpoint cannot be restored)"
    if upto == 0:
        return  # a restart from step 0 keeps no rows
    if not path.is_file():
        raise ConfigError(f"cannot resume: {path} is missing but the checkpoint is at step {upto}; {fix}")
    try:
        rows = read_metrics(path.parent)
        with open(path, newline="") as f:
            header = next(csv.reader(f), [])
    except (OSError, UnicodeDecodeError, csv.Error, ValueError, KeyError, TypeError) as e:
        raise ConfigError(f"cannot resume: {path} is corrupt ({type(e).__name__}: {str(e)[:200]}); {fix}") from None
    if tuple(header) != METRIC_COLUMNS:
        raise ConfigError(f"cannot resume: {path} has columns {header}, expected {list(METRIC_COLUMNS)}; {fix}")
    steps = [r["step"] for r in rows if r["step"] < upto]
    if steps != list(range(upto)):
        raise ConfigError(f"cannot resume: {path} does not hold the steps 0..{upto - 1} before the "
                          f"checkpoint ({len(steps)} of {upto} rows); {fix}")


# ----------------------------------------------------------------------------- metrics file

def _open_metrics(path: Path, keep_before: int):
    """Open metrics.csv for appending, first dropping rows with step >= `keep_before`."""
    rows = []
    if keep_before > 0 and path.is_file():
        with open(path, newline="") as f:
            rows = [r for r in csv.DictReader(f) if int(r["step"]) < keep_before]
    tmp = _tmp(path)
    with open(tmp, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=METRIC_COLUMNS)
        w.writeheader()
        w.writerows(rows)
    os.replace(tmp, path)
    return open(path, "a", newline="")


class _MetricsRows:
    """metrics.csv and the rows of the steps not yet written to it.

    A row's training loss may still be a device tensor: `read` fetches all of them in one
    transfer, so a CUDA loop waits for the device only there.  Each row keeps a copy of the
    counters as they stood after its step, so that a run found to have diverged a few steps
    back ends with the rows and totals it had at that step.  `flush` writes the rows already
    read with one write call, so an interruption (a signal raises between Python calls)
    leaves none of them written twice or in part."""

    def __init__(self, path: Path, keep_before: int):
        self._file = _open_metrics(path, keep_before)
        self._rows: list[tuple[dict, dict]] = []  # (row, counters after its step)

    def add(self, row: dict, c: _Counters) -> None:
        """Buffer the row of the step `c` has just counted (train_loss a float or a device scalar)."""
        self._rows.append((row, vars(c).copy()))

    def set_val_loss(self, value: float) -> None:
        """Record the validation loss of the latest step."""
        self._rows[-1][0]["val_loss"] = value

    def read(self, c: _Counters) -> str | None:
        """Read the buffered training losses onto the host and set `c.last_train` to the latest.
        If one is not finite: drop the rows after the first such step, set `c` back to its
        counters after that step, and return the diverged_reason; else None."""
        unread = [row for row, _ in self._rows if isinstance(row["train_loss"], torch.Tensor)]
        if unread:
            values = torch.stack([row["train_loss"] for row in unread]).tolist()  # the one host sync
            for row, value in zip(unread, values):
                row["train_loss"] = value
        for i, (row, counters) in enumerate(self._rows):
            if not math.isfinite(row["train_loss"]):
                del self._rows[i + 1:]
                vars(c).update(counters)
                c.last_train = row["train_loss"]
                return f"training loss {row['train_loss']} at step {row['step']} is not finite"
        if self._rows:
            c.last_train = self._rows[-1][0]["train_loss"]
        return None

    def flush(self) -> None:
        """Append the rows read so far to metrics.csv and flush the file."""
        n = next((i for i, (row, _) in enumerate(self._rows) if isinstance(row["train_loss"], torch.Tensor)),
                 len(self._rows))
        text = io.StringIO()
        csv.DictWriter(text, fieldnames=METRIC_COLUMNS).writerows(row for row, _ in self._rows[:n])
        try:
            self._file.write(text.getvalue())  # one call: a signal is handled before or after it
        finally:
            del self._rows[:n]
        self._file.flush()

    def close(self) -> None:
        self._file.close()


def read_metrics(run_dir) -> list[dict]:
    """Rows of a run's metrics.csv with numbers parsed (val_loss None when not evaluated)."""
    out = []
    with open(Path(run_dir) / "metrics.csv", newline="") as f:
        for r in csv.DictReader(f):
            row = {"run_id": r["run_id"]}
            for k in METRIC_COLUMNS[1:]:
                if r[k] is None:
                    raise ValueError(f"row {len(out) + 1} has no {k!r} value (a truncated row?)")
                if r[k] == "":
                    row[k] = None
                elif k in ("step", "tokens", "depth"):
                    row[k] = int(r[k])
                else:
                    row[k] = float(r[k])
            out.append(row)
    return out


# ----------------------------------------------------------------------------- evaluation

@torch.no_grad()
def evaluate(model, batches, autocast) -> float:
    """Mean loss over fixed (x, y) tensor batches."""
    was_training = model.training
    model.eval()
    total = 0.0
    for x, y in batches:
        with autocast():
            _, loss = model(x, y)
        total += float(loss)
    model.train(was_training)
    return total / len(batches)


def _eval_steps(cfg: TrainConfig) -> set[int]:
    steps = {t for t in range(cfg.steps) if (t + 1) % cfg.eval_every == 0}
    steps.add(cfg.steps - 1)
    steps.update(s - 1 for s, _ in C.resolve_stages(cfg))
    return steps


# ----------------------------------------------------------------------------- the loop

def train(cfg: TrainConfig, out_dir, *, resume: bool = False, overwrite: bool = False,
          quiet: bool = False, stop_after: int | None = None) -> dict:
    """Train `cfg` into `out_dir` and return the run summary (also saved as summary.json).

    One process writes a run directory: `train` holds its lock (`progtheory.train.run_lock`) from
    before its checks to the end, and a second writer, `overwrite` included, is refused with
    `run_lock.RunLocked`.  Nothing but the lock is written until the config, the device, the
    corpus and the run directory have been checked; an existing run directory is refused
    unless `resume` (continue from its last checkpoint, or from step 0 if it has none; a
    finished run is returned as is) or `overwrite` (its run files are deleted; other files
    are left alone).  `stop_after` stops after that many steps (counted from step 0) without
    a final checkpoint, which simulates an interruption; the summary then says status
    "interrupted"."""
    C.validate(cfg)
    if stop_after is not None and not (isinstance(stop_after, int) and not isinstance(stop_after, bool)
                                       and stop_after >= 0):
        raise ConfigError(f"stop_after={stop_after!r} must be an integer >= 0 (or None to run to the end)")
    if cfg.growth is not None:
        from progtheory.core import growth

        try:
            growth.check_plan(cfg)
        except ValueError as e:
            raise ConfigError(str(e)) from e
    if not isinstance(out_dir, (str, os.PathLike)) or str(out_dir) == "":
        raise ConfigError(f"out_dir={out_dir!r} must be a folder path, e.g. runs/NAME")
    out = Path(out_dir)
    group = distributed.join(cfg)  # one process, or this one's place under torchrun
    device = group.place(resolve_device(cfg.device))
    check_out_dir(out)
    with run_lock.acquire(out) if group.is_main else contextlib.nullcontext():
        return _start(cfg, out, group, device, resume, overwrite, quiet, stop_after)


def _start(cfg: TrainConfig, out: Path, group: distributed.Group, device: str, resume: bool, overwrite: bool,
           quiet: bool, stop_after: int | None) -> dict:
    """`train` from the run-directory check on, with the folder's lock held (by the first
    process; under torchrun the others only read it)."""
    mode = check_run_dir(out, cfg, resume, overwrite)
    if mode == "done":
        return json.loads((out / "summary.json").read_text())
    check_memory(cfg, device)
    with group.main_first():  # the first process builds the token cache, the others read it
        data = _load_data(cfg, quiet)
    run_id = C.run_id(cfg)
    ckpt_path = out / CKPT

    torch.manual_seed(cfg.seed)
    np.random.seed(cfg.seed)
    random.seed(cfg.seed)
    if mode == "resume" and ckpt_path.is_file():
        model, optimizer, counters = _load_checkpoint(ckpt_path, cfg, device)
    else:
        model = GPT(cfg.model, depth=C.depth_at(cfg, 0)).to(device)
        optimizer = build_optimizer(model, cfg, 0)
        counters = _Counters()
    if mode == "resume":
        check_metrics(out / "metrics.csv", counters.step)

    # -- nothing but the lock was written above this line
    group.barrier()  # every process has read the run folder before the first one writes it
    if not group.is_main:
        out = group.scratch()  # only the first process writes the run folder
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ConfigError(f"--out {out} cannot be created ({e.strerror}); choose another folder") from None
    _remove_temporaries(out)
    prov = provenance.collect(device=device, seed=cfg.seed)
    if mode == "fresh":
        for name in RUN_FILES:
            (out / name).unlink(missing_ok=True)
        _write_json(out / "config.json", {"run_id": run_id, **C.to_dict(cfg)})
        _write_json(out / "provenance.json", {**prov, "resumes": []})
    else:
        if counters.step == 0:
            print(f"{out}: no checkpoint to resume from, so the run restarts from step 0", file=sys.stderr)
        old = json.loads((out / "provenance.json").read_text()) if (out / "provenance.json").is_file() else prov
        old.setdefault("resumes", []).append({**prov, "from_step": counters.step})
        _write_json(out / "provenance.json", old)
    return _loop(cfg, out, model, optimizer, counters, data, device, run_id, quiet or not group.is_main,
                 stop_after, group)


JOLT_STEPS = 10  # updates after a growth step whose loss on the statistics batch is logged


def _batch_loss(model, batch) -> float:
    """Mean cross-entropy of `model` on one (x, y) batch in eval mode, full precision."""
    was_training = model.training
    model.eval()
    with torch.no_grad():
        _, loss = model(*batch)
    model.train(was_training)
    return float(loss)


def _grow_logged(out: Path, model, optimizer, cfg, step: int, batch, device, train_batch=None):
    """Grow `model` at `step` and write ``growth_stats_<step>.json``: the source's branch
    statistics on the first validation batch (`progtheory.train.branch_stats.branch_statistics`, its
    blocks as a copy at the plan's ``init_scale`` would compute; no random numbers drawn, the
    model left as it was), from which
    `theory.init_scale.expansion_loss_change` predicts the loss change of each init at tau;
    ``loss_grown``, the grown model's mean cross-entropy on the same batch before any update
    (so ``loss_grown - loss`` is the measured change); and ``update``, the slope and curvature
    of the loss along the run's optimizer's first step of the new parameters from fresh state,
    per unit scheduled LR (`branch_stats.update_statistics` with each group's ``lr_mult``), from
    which `theory.jolt.jolt_curve` predicts the jolt of the first updates (`_log_jolt` adds the
    measured one); with `train_batch` (the global batch of the first update after growing)
    also ``update_train``: the same statistics along the direction that batch's gradient
    gives, the step the optimizer actually takes.  Returns the new optimizer."""
    from progtheory.core import growth
    from progtheory.train.branch_stats import branch_statistics, update_statistics

    stats = {"step": step, **branch_statistics(model, *batch, copy_scale=cfg.growth.init_scale)}
    old = {id(p) for p in model.parameters()}
    optimizer = growth.grow(model, optimizer, cfg, step, generator=_growth_generator(cfg, step, device))
    stats["loss_grown"] = _batch_loss(model, batch)
    mult = {id(p): g["lr_mult"] for g in optimizer.param_groups for p in g["params"]}
    new = {n: mult.get(id(p), 1.0) for n, p in model.named_parameters() if id(p) not in old}
    if new:
        stats["update"] = update_statistics(model, *batch, list(new), cfg.optimizer, scales=new)
        if train_batch is not None:
            stats["update_train"] = update_statistics(model, *batch, list(new), cfg.optimizer, scales=new,
                                                      direction_batch=train_batch)
    _write_json(out / f"growth_stats_{step}.json", stats)
    return optimizer


def _log_jolt(out: Path, step: int, losses: list[float], lrs: list[float]) -> None:
    """Add the measured jolt to ``growth_stats_<step>.json``: ``jolt_loss`` (the loss on the
    statistics batch after each of the first updates after the growth at `step`, the whole
    model training as usual) and ``jolt_lr`` (the scheduled LR of each of those updates).
    A run resumed inside that window logs no jolt."""
    path = out / f"growth_stats_{step}.json"
    _write_json(path, {**json.loads(path.read_text()), "jolt_loss": losses, "jolt_lr": lrs})


def _log_symmetry(out: Path, model, step: int, probe: tuple[int, list], idx_BxT, c: _Counters) -> tuple[float, float]:
    """Append the copy symmetry of `model` at state `step` to ``symmetry.jsonl``: {"step",
    "tau" (the growth step that made the copies), "updates" (step - tau), and
    `symmetry.copy_symmetry` on `idx_BxT`}.  Its time counts as evaluation; returns the
    (wall, CPU) seconds it took, for the caller to leave out of the step's time."""
    w0, p0 = time.perf_counter(), time.process_time()
    tau, groups = probe
    symmetry.append_log(out / symmetry.LOG, {"step": step, "tau": tau, "updates": step - tau,
                                             **symmetry.copy_symmetry(model, groups, idx_BxT)})
    wall = time.perf_counter() - w0
    c.eval_time += wall
    return wall, time.process_time() - p0


def _sync_every(device: str) -> int:
    """`SYNC_EVERY`, or its default on `device` when it is None."""
    every = SYNC_EVERY if SYNC_EVERY is not None else CUDA_SYNC_EVERY if device.startswith("cuda") else 1
    if isinstance(every, bool) or not isinstance(every, int) or every < 1:
        raise ValueError(f"loop.SYNC_EVERY={every!r} must be an integer >= 1, or None for the device's default")
    return every


def _read_steps(cfg: TrainConfig, every: int, eval_at: set[int], probes: dict, stop_after: int | None) -> set[int]:
    """The steps after whose update a loop that keeps its losses on the device reads them:
    every `every`-th step; each evaluated step, so a non-finite loss is caught before a
    model is evaluated or grown from it (the step before each growth step is evaluated);
    each step before a checkpoint, a copy-symmetry probe or `stop_after`; and the JOLT_STEPS
    steps from each growth step on, after whose updates the jolt is measured."""
    ckpt_every = checkpoint_interval(cfg)
    steps = {t for t in range(cfg.steps) if (t + 1) % every == 0 or (t + 1) % ckpt_every == 0}
    steps |= eval_at | {s - 1 for s in probes} | {cfg.steps - 1}
    steps |= {tau + i for tau, _ in C.resolve_stages(cfg) for i in range(JOLT_STEPS)}
    if stop_after is not None:
        steps.add(stop_after - 1)
    return steps


def _count_step(c: _Counters, depth: int, flops: _FlopCounter, B: int, T: int, t0: float, cpu0: float) -> None:
    """Count the step `c.step` as done: its wall and CPU seconds since (t0, cpu0) and its FLOPs at `depth`."""
    c.wall_time += time.perf_counter() - t0
    c.cpu_time += time.process_time() - cpu0
    exact, six_n = flops.per_token(depth)
    c.flops += exact * B * T
    c.flops_6n += six_n * B * T
    c.step += 1


def _loop(cfg, out, model, optimizer, c: _Counters, data, device, run_id, quiet, stop_after,
          group: distributed.Group) -> dict:
    from tqdm import tqdm

    from progtheory import data as D

    B, T = cfg.batch_size, cfg.model.block_size
    lr_factor = schedule_from_config(cfg.schedule, cfg.steps)
    stages = dict(C.resolve_stages(cfg))
    eval_at = _eval_steps(cfg)
    flops = _FlopCounter(cfg.model)
    autocast = ((lambda: torch.autocast("cuda", dtype=torch.bfloat16)) if device.startswith("cuda")
                else contextlib.nullcontext)
    val = [(torch.from_numpy(x).to(device), torch.from_numpy(y).to(device))
           for x, y in D.eval_batches(data.val, B, T, cfg.eval_batches, seed=cfg.seed)]
    forward = group.forward(model, cfg.compile)  # DDP with several processes, compiled if asked
    model.train()
    # copy symmetry after copying growth, on the first validation batch (the statistics batch)
    probe_plan = symmetry.probe_plan(cfg, {t + 1 for t in eval_at})
    probes = probe_plan if group.is_main else {}
    symmetry.trim_log(out / symmetry.LOG, keep_before=c.step)

    start_step, start_wall = c.step, c.wall_time
    bound, ckpt_every, reason = divergence_bound(cfg), checkpoint_interval(cfg), None
    every = _sync_every(device)
    per_step = every == 1  # read each loss before its update; else only after the `read_at` steps
    read_at = _read_steps(cfg, every, eval_at, probe_plan, stop_after)  # the same in every process
    rows = _MetricsRows(out / "metrics.csv", keep_before=c.step)
    bar = tqdm(total=cfg.steps, initial=c.step, disable=quiet, unit="step", desc=run_id, dynamic_ncols=True)
    status = "completed"
    jolt = None  # (growth step, losses, LRs) over the first JOLT_STEPS updates after a growth
    try:
        while c.step < cfg.steps:
            if stop_after is not None and c.step >= stop_after:
                status = "interrupted"
                break
            t = c.step
            read = per_step or t in read_at
            t0, cpu0 = time.perf_counter(), time.process_time()
            batch = D.get_batch(data.train, B, T, seed=cfg.seed, step=t)
            if t in stages:
                step_batch = tuple(distributed.to_device(a, device) for a in batch)  # the global batch
                optimizer = _grow_logged(out, model, optimizer, cfg, t, val[0], device, step_batch)
                jolt = (t, [], [])
                if model.depth != stages[t]:
                    raise RuntimeError(f"growth at step {t} gave depth {model.depth}, expected {stages[t]}")
                forward = group.forward(model, cfg.compile)  # a new wrapper around the grown model
            if t in probes:  # the state before this step's update, after its growth
                wall, cpu = _log_symmetry(out, model, t, probes[t], val[0][0], c)
                t0, cpu0 = t0 + wall, cpu0 + cpu
            lr = cfg.lr * float(lr_factor(t))
            set_lr(optimizer, lr, step=t)
            x, y = group.shard(*batch)
            x, y = distributed.to_device(x, device), distributed.to_device(y, device)
            with autocast():
                _, loss = forward(x, y)
            train_loss = group.mean(loss.detach())  # stays on the device until the next read
            if per_step:
                train_loss = train_loss.item()
            if not per_step or math.isfinite(train_loss):  # deferred: a non-finite loss stops the run at the read
                loss.backward()
                if cfg.grad_clip > 0:
                    torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
                optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            if read and device.startswith("cuda"):
                torch.cuda.synchronize()  # the steps' time since the last read includes the device's
            _count_step(c, model.depth, flops, B, T, t0, cpu0)
            rows.add({"run_id": run_id, "step": t, "tokens": (t + 1) * B * T, "flops": c.flops,
                      "flops_6n": c.flops_6n, "depth": model.depth, "lr": lr, "train_loss": train_loss,
                      "val_loss": "", "wall_time": c.wall_time}, c)
            bar.update(1)
            if not read:  # jolt, evaluation and checkpoint steps are all read steps
                continue
            reason = rows.read(c)  # the losses since the last read; the counters set back on a non-finite one
            if reason:
                status = "diverged"
                break

            if jolt is not None:
                e0 = time.perf_counter()
                jolt[1].append(_batch_loss(model, val[0]))
                jolt[2].append(lr)
                c.eval_time += time.perf_counter() - e0
                if len(jolt[1]) == JOLT_STEPS or c.step == cfg.steps:
                    _log_jolt(out, *jolt)
                    jolt = None
            if t in eval_at:
                e0 = time.perf_counter()
                val_loss = evaluate(model, val, autocast)
                c.eval_time += time.perf_counter() - e0
                c.last_val, c.last_val_step = val_loss, t
                c.best_val = min(c.best_val, val_loss)
                c.bad_evals = c.bad_evals + 1 if not val_loss <= bound else 0
                rows.set_val_loss(val_loss)
            rows.flush()
            bar.set_postfix(loss=f"{c.last_train:.3f}", val="-" if c.last_val is None else f"{c.last_val:.3f}",
                            tok_s=f"{(c.step - start_step) * B * T / max(c.wall_time - start_wall, 1e-9):.0f}")
            if c.bad_evals >= DIVERGE_EVALS or (c.bad_evals and c.step == cfg.steps):
                status = "diverged"
                reason = (f"validation loss {c.last_val:.4g} at step {t} exceeds ln(vocab_size) + "
                          f"{DIVERGE_MARGIN:g} = {bound:.4g} nats (a uniform guess scores "
                          f"{bound - DIVERGE_MARGIN:.4g}) at {c.bad_evals} consecutive evaluation(s)")
                break
            if c.step % ckpt_every == 0 or c.step == cfg.steps:
                save_checkpoint(out / CKPT, model, optimizer, c, device, run_id)
        if status == "completed" and c.step in probes:  # the final model
            _log_symmetry(out, model, c.step, probes[c.step], val[0][0], c)
        rows.flush()  # the rows up to a non-finite loss
    except KeyboardInterrupt:
        reason = rows.read(c) or reason  # a non-finite loss among the unread steps: the run diverged
        rows.flush()  # every counted step's row is in metrics.csv before the summary is written
        _finish(cfg, out, model, c, data, device, run_id, "diverged" if reason else "interrupted", reason)
        raise
    finally:
        bar.close()
        rows.close()
    return _finish(cfg, out, model, c, data, device, run_id, status, reason)


def _finish(cfg, out, model, c: _Counters, data, device, run_id, status, reason=None) -> dict:
    summary = {
        "run_id": run_id, "name": cfg.name, "status": status,
        "steps": cfg.steps, "steps_done": c.step, "tokens": c.step * cfg.batch_size * cfg.model.block_size,
        "depth": model.depth, "params": int(compute.param_count(cfg.model, depth=model.depth)),
        "final_val_loss": c.last_val, "final_val_step": c.last_val_step,
        "best_val_loss": None if math.isinf(c.best_val) else c.best_val,
        "final_train_loss": c.last_train if c.last_train is None or math.isfinite(c.last_train) else None,
        "unigram_xent_val": data.meta.get("unigram_xent_val"),
        "flops": c.flops, "flops_6n": c.flops_6n,
        "wall_time": c.wall_time, "cpu_time": c.cpu_time, "eval_time": c.eval_time,
        "device": device, "end_time": provenance.now_iso(), "diverged_reason": reason,
    }
    _write_json(out / "summary.json", summary)
    tmp = _tmp(out / "summary.csv")
    with open(tmp, "w", newline="") as f:  # the same record as a one-row table
        w = csv.DictWriter(f, fieldnames=list(summary))
        w.writeheader()
        w.writerow(summary)
    os.replace(tmp, out / "summary.csv")
    return summary
