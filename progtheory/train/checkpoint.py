"""The checkpoint a run resumes from: model, optimizer, counters and every RNG state.

Resume: the data batches are a pure function of (seed, step), the new-block init at a growth
step draws from a generator seeded by (seed, step), and the checkpoint holds the model,
optimizer and RNG states, so a resumed run reproduces the uninterrupted rows exactly on CPU.
"""

from __future__ import annotations

import csv
import os
import random
from pathlib import Path
from typing import Iterator

import numpy as np
import torch

from progtheory import config as C
from progtheory.config import ConfigError, TrainConfig
from progtheory.core.model import GPT
from progtheory.core.optim import build_optimizer
from progtheory.train.counters import Counters
from progtheory.train.run_dir import tmp_path

CKPT_FRACTION = 4      # at least this many checkpoints per run: interval <= steps // CKPT_FRACTION


def checkpoint_interval(cfg: TrainConfig) -> int:
    """Steps between checkpoints: `ckpt_every`, capped at steps // CKPT_FRACTION (at least 1)."""
    return max(1, min(cfg.ckpt_every, cfg.steps // CKPT_FRACTION))


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


def save_checkpoint(path: Path, model, optimizer, counters: Counters, device: str, run_id: str) -> None:
    """Write the full training state atomically (temporary file, then rename)."""
    state = {
        "run_id": run_id, "depth": model.depth, "model": model.state_dict(),
        "optimizer": optimizer.state_dict(), "counters": vars(counters).copy(),
        "rng": _rng_state(device),
    }
    tmp = tmp_path(path)
    torch.save(state, tmp)
    os.replace(tmp, path)


def load_checkpoint(path: Path, cfg: TrainConfig, device: str):
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
        counters = Counters(**state["counters"])
        optimizer = build_optimizer(model, cfg, counters.step)
        optimizer.load_state_dict(state["optimizer"])
        _set_rng_state(state["rng"])
    except ConfigError:
        raise
    except Exception as e:  # torch.load raises many types for a damaged zip or pickle
        raise ConfigError(f"cannot resume: {path} is corrupt or truncated ({type(e).__name__}: "
                          f"{str(e)[:200]}); {fix}") from None
    return model, optimizer, counters


def initial_state(cfg: TrainConfig, device: str, checkpoint: Path | None):
    """(model, optimizer, counters) to train from: those of `checkpoint`, or, when it is None,
    a model at the run's first depth drawn from the global RNG (seeded by the caller), its
    optimizer and counters at step 0."""
    if checkpoint is not None:
        return load_checkpoint(checkpoint, cfg, device)
    model = GPT(cfg.model, depth=C.depth_at(cfg, 0)).to(device)
    return model, build_optimizer(model, cfg, 0), Counters()


def final_states(runs_csv: Path, runs_root: Path, left_out: dict[str, str],
                 skip: frozenset[str] = frozenset()) -> Iterator[tuple[dict, Path, dict]]:
    """Each run of a results table (`runs_csv`, a sweep's runs.csv) whose folder under `runs_root`
    holds a checkpoint at the run's last step: yields (row, run_dir, state), the state loaded on
    the CPU.  Every other run is put in `left_out` as run_id -> why ("no checkpoint", "checkpoint
    at step s of T"), so a caller measuring finished runs can name those it skipped; run ids in
    `skip` (measured already) are passed over without loading."""
    with open(runs_csv, newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["run_id"] not in skip]
    for row in rows:
        run_dir = Path(runs_root) / row["run_id"]
        if not (run_dir / "ckpt.pt").is_file():
            left_out[row["run_id"]] = "no checkpoint"
            continue
        state = torch.load(run_dir / "ckpt.pt", map_location="cpu", weights_only=True)
        step = int(state["counters"]["step"])
        if str(step) != row["steps"]:
            left_out[row["run_id"]] = f"checkpoint at step {step} of {row['steps']}"
            continue
        yield row, run_dir, state


def final_model(run_dir: Path, state: dict) -> tuple[TrainConfig, GPT]:
    """(config, model) of a run folder and its loaded checkpoint `state` (`final_states`), on the CPU."""
    import json

    cfg = C.from_run_json(json.loads((Path(run_dir) / "config.json").read_text()))
    model = GPT(cfg.model, depth=int(state["depth"]))
    model.load_state_dict(state["model"])
    return cfg, model
