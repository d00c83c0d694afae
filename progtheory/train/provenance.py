"""Provenance of a run: code version, library versions, machine, seed, time, command line.

Written by the trainer as `provenance.json` next to `config.json` before step 0, so every
result row can be traced to the code and machine that produced it.
"""

from __future__ import annotations

import datetime as _dt
import os
import platform
import socket
import subprocess
import sys
from pathlib import Path

_REPO = Path(__file__).resolve().parents[2]


def _git(*args: str) -> str | None:
    try:
        out = subprocess.run(["git", *args], cwd=_REPO, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def git_state() -> dict:
    """{"git_sha": str | None, "git_dirty": bool | None}.

    Dirty means tracked files differ from HEAD (untracked files are ignored).  Outside a git
    checkout (a copy of the tree sent to another machine) the SHA comes from the environment
    variable PROGTHEORY_COMMIT and the flag from PROGTHEORY_DIRTY ("yes" / "no"), which the
    sender records (`experiments/gpu/prepare.sh`); None when they are not set.
    """
    sha = _git("rev-parse", "HEAD")
    if sha is None:
        dirty = os.environ.get("PROGTHEORY_DIRTY", "").strip().lower()
        return {"git_sha": os.environ.get("PROGTHEORY_COMMIT", "").strip() or None,
                "git_dirty": {"yes": True, "no": False}.get(dirty)}
    status = _git("status", "--porcelain", "--untracked-files=no")
    return {"git_sha": sha, "git_dirty": None if status is None else bool(status)}


def device_name(device: str) -> str:
    """A human-readable name of the compute device (GPU model, or the CPU model)."""
    if device.startswith("cuda"):
        import torch

        return torch.cuda.get_device_name(torch.device(device))
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def now_iso() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def collect(*, device: str, seed: int) -> dict:
    """Everything needed to trace a run: git SHA and dirty flag, python/torch/numpy versions,
    device, torch thread count, hostname, seed, start time (UTC) and argv."""
    import numpy
    import torch

    from progtheory import __version__

    return {
        **git_state(),
        "progtheory": __version__,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "numpy": numpy.__version__,
        "device": device,
        "device_name": device_name(device),
        "torch_threads": torch.get_num_threads(),
        "hostname": socket.gethostname(),
        "platform": platform.platform(),
        "seed": seed,
        "start_time": now_iso(),
        "argv": list(sys.argv),
    }
