"""What the commands share: a config from --preset, --set and --corpus, the flags of a run,
and the checks that refuse a bad output path or number before anything is written."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from progtheory import config as C
from progtheory import presets
from progtheory.config import ConfigError, TrainConfig


def parse_sets(items: list[str] | None) -> dict[str, str]:
    """["model.n_layer=8", "lr=1e-3"] -> {"model.n_layer": "8", "lr": "1e-3"}."""
    out = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"--set {item!r} must look like key=value, e.g. --set model.n_layer=8")
        out[key.strip()] = value.strip()
    return out


def add_config_args(p: argparse.ArgumentParser, preset_default: str = "default") -> None:
    p.add_argument("--preset", default=preset_default, choices=sorted(presets.PRESETS),
                   help=f"starting config (default: {preset_default})")
    p.add_argument("--set", dest="sets", action="append", metavar="KEY=VALUE",
                   help="override a config field, e.g. --set model.n_layer=8 (repeatable)")
    p.add_argument("--corpus", help="text file or folder to train on (same as --set data.corpus=PATH)")


def config_from_args(args, skip_prefix: str | None = None) -> TrainConfig:
    """The preset named by --preset with --set and --corpus applied (keys starting with
    `skip_prefix` left out), validated."""
    cfg = presets.get(args.preset)
    changes = parse_sets(args.sets)
    if skip_prefix:
        changes = {k: v for k, v in changes.items() if not k.startswith(skip_prefix)}
    if args.corpus is not None:
        if not args.corpus.strip():
            raise ConfigError(f"--corpus {args.corpus!r} is empty; give a .txt file or a folder to train on, "
                              f"or leave --corpus out to use the preset's corpus")
        changes["data.corpus"] = args.corpus
    new = C.override(cfg, changes)
    try:
        return C.validate(new)
    except ConfigError as e:
        if cfg.growth is None and isinstance(new.growth, C.GrowthPlan) and "growth.stages" not in changes \
                and ("growth" in str(e) or "stage" in str(e)):
            stages = json.dumps([list(s) for s in new.growth.stages])
            raise ConfigError(f"--set growth.stages was not given, so the default growth stages {stages} are "
                              f"used: {e}; give your own, e.g. --set 'growth.stages=[[0.8, {new.model.n_layer}]]'"
                              ) from None
        raise


def check_out_arg(out: str | None) -> None:
    if out is not None and not out.strip():
        raise ConfigError(f"--out {out!r} is empty; give a folder for the run, e.g. --out runs/NAME "
                          f"(or leave --out out for the default)")


def add_run_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--resume", action="store_true", help="continue the run in --out from its last checkpoint")
    p.add_argument("--overwrite", action="store_true", help="replace the run files in --out")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def check_output_file(path: str, flag: str) -> None:
    """Refuse a file the command would write at its end: an empty path, a folder, one whose
    folder is missing, is a file, or is not writable; writes nothing."""
    if not path.strip():
        raise ConfigError(f"{flag} {path!r} is empty; give a file name, e.g. {flag} bench.json")
    p = Path(path)
    if p.is_dir():
        raise ConfigError(f"{flag} {path} is a folder; give a file name, e.g. {flag} {p / 'bench.json'}")
    full = folder = Path(os.path.abspath(p)).parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir():
        raise ConfigError(f"{flag} {path} lies below {folder}, which is a file, not a folder; choose another {flag}")
    if folder != full:
        raise ConfigError(f"{flag} {path}: the folder {full} does not exist; create it or choose another {flag}")
    if not os.access(full, os.W_OK | os.X_OK):
        raise ConfigError(f"{flag} {path}: the folder {full} is not writable; choose a folder you can write to")


def positive_int(text: str) -> int:
    """argparse type: an integer >= 1 (argparse turns the ValueError into a usage error)."""
    value = int(text)
    if value < 1:
        raise ValueError(text)
    return value


def fmt(x, spec: str = ".4f") -> str:
    return "n/a" if x is None else format(x, spec)
