"""One writer per run folder: an exclusive OS file lock held for a run's lifetime.

`acquire(folder)` creates the folder if needed and takes ``<folder>/.lock`` with
``fcntl.flock(LOCK_EX | LOCK_NB)``; the file holds the holder's pid and host, so a refusal
can name them.  A second process asking for the same folder is refused at once with
`RunLocked` (a ConfigError, so the command line exits 2 with one line); nobody waits.

The OS drops a flock when its process dies, so a run killed with SIGKILL leaves at most an
unlocked ``.lock`` file, which the next writer simply takes: there is no stale lock to clear.
A normal release deletes the file while still holding it (and the folder too, when the lock
created it and nothing else was written), and `acquire` checks after locking that the path
still names the file it locked, so a writer can never hold a file that was just deleted.

Locks are re-entrant within a process: a sweep holds a run's lock while it decides whether to
resume, and the trainer it then calls takes the same lock again.  Distinct processes (and a
second `open` + `flock` of another process) conflict, whatever their user.
"""

from __future__ import annotations

import fcntl
import os
import socket
from pathlib import Path

from progtheory.config import ConfigError

LOCK_NAME = ".lock"  # inside the run folder; ignored when deciding whether a folder is empty


class RunLocked(ConfigError):
    """The run folder is being written by another process."""

    def __init__(self, folder: Path, holder: str):
        self.folder, self.holder = folder, holder
        super().__init__(f"run directory {folder} is being written by {holder} (lock {folder / LOCK_NAME}); "
                         f"wait for that run to finish or stop it, then run the command again, or choose another --out")


class RunLock:
    """An exclusive lock on one run folder, held until `release` (or the end of a `with`)."""

    def __init__(self, folder: Path, fd: int, created: bool):
        self.folder, self._fd, self._created, self._depth = folder, fd, created, 1

    def release(self) -> None:
        """Give the lock up: the outermost release deletes the lock file (and the folder when
        the lock created it and it is still empty), then closes it, which unlocks it."""
        self._depth -= 1
        if self._depth > 0 or self._fd is None:
            return
        _HELD.pop(_key(self.folder), None)
        (self.folder / LOCK_NAME).unlink(missing_ok=True)
        if self._created:
            try:
                self.folder.rmdir()  # only succeeds when nothing else was written
            except OSError:
                pass
        os.close(self._fd)
        self._fd = None

    def __enter__(self) -> RunLock:
        return self

    def __exit__(self, *exc) -> None:
        self.release()


_HELD: dict[str, RunLock] = {}  # locks this process holds, by resolved folder


def _key(folder: Path) -> str:
    return os.path.realpath(folder)


def _holder(path: Path) -> str:
    """'process <pid> on <host>' as the lock file names it, or 'another process'."""
    try:
        pid, host = path.read_text().split()
        return f"process {int(pid)} on {host}"
    except (OSError, ValueError):
        return "another process"  # it has just taken the lock and not yet written its pid


def acquire(folder) -> RunLock:
    """Lock `folder` for writing (creating it, and its parents, when absent); RunLocked when
    another process holds it, ConfigError when the folder or its lock file cannot be made."""
    folder = Path(folder)
    held = _HELD.get(_key(folder)) if folder.exists() else None
    if held is not None:
        held._depth += 1
        return held
    created, path = False, folder / LOCK_NAME
    while True:
        created = created or not folder.exists()
        try:
            folder.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except FileNotFoundError:
            continue  # a releasing holder removed the folder it had created: make it again
        except OSError as e:
            raise ConfigError(f"run directory {folder} or its lock file cannot be created ({e.strerror}); "
                              f"choose a folder you can write to") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise RunLocked(folder, _holder(path)) from None
        except OSError as e:
            os.close(fd)
            raise ConfigError(f"run directory {folder}: its file system does not support file locks "
                              f"({e.strerror}); choose a folder on a local disk") from None
        try:
            same = os.stat(path).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)  # its holder released and deleted it between our open and our lock: retry
    os.ftruncate(fd, 0)
    os.write(fd, f"{os.getpid()} {socket.gethostname()}\n".encode())
    lock = RunLock(folder, fd, created)
    _HELD[_key(folder)] = lock
    return lock
