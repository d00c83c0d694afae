"""The run folder: what `train` writes there, and the checks made before it writes anything.

`train(cfg, out_dir)` writes into `out_dir`

  * ``config.json``      the config and its `run_id`, before step 0;
  * ``provenance.json``  git SHA and dirty flag, library versions, device, seed, time, argv
                         (one entry per start under "resumes" when a run is continued);
  * ``metrics.csv``      one row per step (`progtheory.train.metrics`), written when the step's
                         loss is read and always before a checkpoint or the summary, so an
                         interrupted run holds the row of every step it counted;
  * ``ckpt.pt``          model, optimizer, step, depth, RNG states and counters, written
                         atomically every `checkpoint.checkpoint_interval(cfg)` steps
                         (`ckpt_every`, capped at a quarter of the run so a short run has
                         checkpoints too) and at the end;
  * ``summary.json``     one flat record per run (`SUMMARY_KEYS`): status, final/best val
                         loss, totals (also as the one-row table ``summary.csv``);
  * ``.lock``            while a process writes the folder: its exclusive lock, naming its
                         pid (`progtheory.train.run_lock`; deleted at the end);
  * ``growth_stats_<step>.json``  for a progressive run, the statistics of each growth step
                         (`progtheory.train.probes`);
  * ``symmetry.jsonl``   for a run whose growth copies blocks, how far the copies have
                         separated (`progtheory.train.probes`, `progtheory.train.symmetry`).

Every file but metrics.csv and symmetry.jsonl is written to a temporary name beside it and
renamed, so a reader never sees half a file.
"""

from __future__ import annotations

import csv
import json
import os
import re
import sys
import zipfile
from pathlib import Path

from progtheory import config as C
from progtheory.config import ConfigError, TrainConfig
from progtheory.train import provenance, run_lock

CKPT = "ckpt.pt"
RUN_FILES = ("config.json", "provenance.json", "metrics.csv", "summary.json", "summary.csv", CKPT)
SUMMARY_KEYS = ("run_id", "name", "status", "steps", "steps_done", "tokens", "depth", "params",
                "final_val_loss", "final_val_step", "best_val_loss", "final_train_loss", "unigram_xent_val",
                "flops", "flops_6n", "wall_time", "cpu_time", "eval_time", "device", "end_time", "diverged_reason")
PSEUDO_FS = ("/proc", "/sys", "/dev")
MEMORY_FS = ("/dev/shm",)  # tmpfs folders inside PSEUDO_FS where runs can be written


# ----------------------------------------------------------------------------- atomic writes

def tmp_path(path: Path) -> Path:
    """A temporary name beside `path` that no other process uses, for a write then rename."""
    return path.with_name(f"{path.name}.{os.getpid()}.tmp")


def remove_temporaries(out: Path) -> None:
    """Delete the temporary files (``NAME.<pid>.tmp``) a killed writer left in `out`; called
    under the run's lock, so none of them belongs to a live writer."""
    for p in out.glob("*.tmp"):
        if re.fullmatch(r".+\.\d+\.tmp", p.name):
            p.unlink(missing_ok=True)


def write_json(path: Path, obj: dict) -> None:
    tmp = tmp_path(path)
    tmp.write_text(json.dumps(obj, indent=2, default=str) + "\n")
    os.replace(tmp, path)


# ----------------------------------------------------------------------------- checks before writing

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


# ----------------------------------------------------------------------------- writing

def prepare(out: Path, cfg: TrainConfig, run_id: str, mode: str, from_step: int, device: str) -> None:
    """Make the run folder ready for the loop: create it, clear the temporaries of a killed
    writer, and write config.json and provenance.json (a fresh run, whose old run files are
    deleted first) or add this start to provenance.json's "resumes" (a resumed run)."""
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ConfigError(f"--out {out} cannot be created ({e.strerror}); choose another folder") from None
    remove_temporaries(out)
    prov = provenance.collect(device=device, seed=cfg.seed)
    if mode == "fresh":
        for name in RUN_FILES:
            (out / name).unlink(missing_ok=True)
        write_json(out / "config.json", {"run_id": run_id, **C.to_dict(cfg)})
        write_json(out / "provenance.json", {**prov, "resumes": []})
        return
    if from_step == 0:
        print(f"{out}: no checkpoint to resume from, so the run restarts from step 0", file=sys.stderr)
    old = json.loads((out / "provenance.json").read_text()) if (out / "provenance.json").is_file() else prov
    old.setdefault("resumes", []).append({**prov, "from_step": from_step})
    write_json(out / "provenance.json", old)


def write_summary(out: Path, summary: dict) -> None:
    """summary.json, and the same record as the one-row table summary.csv."""
    write_json(out / "summary.json", summary)
    tmp = tmp_path(out / "summary.csv")
    with open(tmp, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(summary))
        w.writeheader()
        w.writerow(summary)
    os.replace(tmp, out / "summary.csv")
