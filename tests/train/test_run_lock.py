"""A run folder has one writer: a second process that would write it (a second start, a
`--resume` or an `--overwrite` of a running run, a demo) is refused with exit 2 and one line
naming the holder's pid and the folder, the running run finishes whole, and a writer killed
with SIGKILL leaves no lock behind."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from progtheory import presets
from progtheory import config as C
from progtheory.cli import main
from progtheory.train import run_lock
from progtheory.train.loop import train
from progtheory.train.metrics import read_metrics
from progtheory.train.run_dir import check_run_dir

HOLD = ("import sys, time\nfrom progtheory.train import run_lock\n"
        "lock = run_lock.acquire(sys.argv[1])\nprint('locked', flush=True)\ntime.sleep(600)\n")


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    """One token cache for every process of this module, one thread each (2-core machines)."""
    return {**os.environ, "PROGTHEORY_CACHE": str(tmp_path_factory.mktemp("cache")), "OMP_NUM_THREADS": "1"}


def _holder(folder, env):
    """A child process holding `folder`'s lock until killed."""
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(folder)], env=env, stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "locked"
    return proc


def _kill(proc):
    proc.kill()
    proc.communicate(timeout=60)  # also closes its pipes


def _cli(*args):
    return [sys.executable, "-m", "progtheory.cli", "train", "--preset", "tiny", "--quiet", *args]


def _train_until_checkpoint(out, env, *sets):
    """A CLI run of 400 tiny steps, paused (SIGSTOP) once its first checkpoint is written, so
    it is certainly running, with its lock held, while a second command starts."""
    proc = subprocess.Popen(_cli("--out", str(out), "--set", "steps=400", "--set", "ckpt_every=10", *sets),
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 300  # generous: a loaded machine may take long to import torch
    while not (out / "ckpt.pt").exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.01)
    proc.send_signal(signal.SIGSTOP)
    assert proc.poll() is None and not (out / "summary.json").exists(), "the run ended before it could be paused"
    return proc


def _finish(proc):
    proc.send_signal(signal.SIGCONT)
    out, err = proc.communicate(timeout=300)
    return proc.returncode, out, err


def _snapshot(folder):
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def _assert_whole(out, steps):
    """The folder holds one finished run: its summary, config and every step once."""
    summary = json.loads((out / "summary.json").read_text())
    assert summary["status"] == "completed" and summary["steps_done"] == steps
    assert json.loads((out / "config.json").read_text())["run_id"] == summary["run_id"]
    assert [r["step"] for r in read_metrics(out)] == list(range(steps))
    assert not (out / run_lock.LOCK_NAME).exists() and not list(out.glob("*.tmp"))
    return summary


# ----------------------------------------------------------------------------- the lock itself

def test_a_second_process_is_refused_the_lock_and_told_the_holders_pid(tmp_path, env):
    folder = tmp_path / "run"
    with run_lock.acquire(folder):
        res = subprocess.run([sys.executable, "-c", HOLD, str(folder)], env=env, capture_output=True, text=True,
                             timeout=60)
    assert res.returncode != 0 and "locked" not in res.stdout
    assert f"process {os.getpid()}" in res.stderr and str(folder) in res.stderr


def test_the_os_releases_the_lock_of_a_process_killed_with_sigkill(tmp_path, env):
    folder = tmp_path / "run"
    proc = _holder(folder, env)
    try:
        with pytest.raises(run_lock.RunLocked, match=f"process {proc.pid} on"):
            run_lock.acquire(folder)
    finally:
        _kill(proc)
    assert (folder / run_lock.LOCK_NAME).exists()  # left behind, but no longer locked
    with run_lock.acquire(folder):
        assert (folder / run_lock.LOCK_NAME).read_text().split()[0] == str(os.getpid())


def test_the_lock_is_reentrant_in_one_process_and_its_release_removes_what_it_created(tmp_path):
    folder = tmp_path / "a" / "run"
    outer = run_lock.acquire(folder)
    with run_lock.acquire(folder) as inner:
        assert inner is outer
    assert (folder / run_lock.LOCK_NAME).exists()  # still held by the outer acquire
    outer.release()
    assert not folder.exists()  # nothing but the lock was written, so the folder goes too
    folder.mkdir(parents=True)
    (folder / "notes.txt").write_text("keep me")
    run_lock.acquire(folder).release()
    assert [p.name for p in folder.iterdir()] == ["notes.txt"]


def test_a_folder_holding_only_a_lock_file_is_a_fresh_run_directory(tmp_path):
    folder = tmp_path / "run"
    folder.mkdir()
    (folder / run_lock.LOCK_NAME).write_text("12345 elsewhere\n")  # left by a writer killed at its start
    assert check_run_dir(folder, presets.tiny()) == "fresh"


def test_temporaries_of_a_killed_writer_are_removed_by_the_next_one(tmp_path):
    cfg = C.override(presets.tiny(), {"steps": "8"})
    out = tmp_path / "run"
    train(cfg, out, quiet=True, stop_after=4)
    (out / "ckpt.pt.99999999.tmp").write_bytes(b"half a checkpoint")
    assert train(cfg, out, resume=True, quiet=True)["status"] == "completed"
    assert not list(out.glob("*.tmp"))


# ----------------------------------------------------------------------------- two real processes

def test_two_runs_started_together_on_one_folder_train_exactly_once(tmp_path, env):
    """Different LRs, so the two would write different runs: one trains, the other exits 2
    (refused by the lock, or, if the first has already finished, by the existing folder)."""
    out = tmp_path / "run"
    procs = [subprocess.Popen(_cli("--out", str(out), "--set", "steps=200", "--set", f"lr={lr}"), env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for lr in (1e-3, 2e-3)]
    done = []
    for p in procs:
        said, err = p.communicate(timeout=600)
        done.append((p.pid, p.returncode, said, err))
    assert sorted(code for _, code, _, _ in done) == [0, 2], done
    (winner, _, said, _), (_, _, _, err) = sorted(done, key=lambda d: d[1])
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert f"process {winner}" in err or "already exists" in err
    summary = _assert_whole(out, 200)
    assert f"run {summary['run_id']} completed in {out}" in said  # it reports the results its folder holds


def test_resume_while_a_run_is_running_is_refused_and_the_run_finishes_whole(tmp_path, env):
    out = tmp_path / "run"
    first = _train_until_checkpoint(out, env)
    try:
        second = subprocess.run(_cli("--out", str(out), "--set", "steps=400", "--set", "ckpt_every=10", "--resume"),
                                env=env, capture_output=True, text=True, timeout=300)
    finally:
        code, said, _ = _finish(first)
    assert second.returncode == 2 and len(second.stderr.strip().splitlines()) == 1
    assert f"process {first.pid}" in second.stderr and str(out) in second.stderr
    assert code == 0
    summary = _assert_whole(out, 400)
    assert f"run {summary['run_id']} completed in {out}" in said


def test_overwrite_while_a_run_is_running_is_refused_and_changes_nothing(tmp_path, env):
    out = tmp_path / "run"
    first = _train_until_checkpoint(out, env)
    try:
        before = _snapshot(out)
        second = subprocess.run(_cli("--out", str(out), "--set", "lr=2e-3", "--overwrite"), env=env,
                                capture_output=True, text=True, timeout=300)
        after = _snapshot(out)
    finally:
        code, said, _ = _finish(first)
    assert second.returncode == 2 and len(second.stderr.strip().splitlines()) == 1
    assert f"process {first.pid}" in second.stderr and "completed" not in second.stdout
    assert after == before
    assert code == 0
    summary = _assert_whole(out, 400)
    assert f"run {summary['run_id']} completed in {out}" in said


@pytest.mark.slow  # three CLI starts: about 20 s on 2 busy cores
def test_a_run_killed_with_sigkill_resumes_at_once_and_matches_the_uninterrupted_run(tmp_path, env):
    out = tmp_path / "run"
    first = _train_until_checkpoint(out, env)
    _kill(first)  # a stopped process dies of SIGKILL too
    assert (out / run_lock.LOCK_NAME).exists() and not (out / "summary.json").exists()
    sets = ["--set", "steps=400", "--set", "ckpt_every=10"]
    resumed = subprocess.run(_cli("--out", str(out), *sets, "--resume"), env=env, capture_output=True, text=True,
                             timeout=600)
    assert resumed.returncode == 0, resumed.stderr
    _assert_whole(out, 400)
    clean = tmp_path / "clean"
    assert subprocess.run(_cli("--out", str(clean), *sets), env=env, capture_output=True, timeout=600).returncode == 0
    drop = ("wall_time",)
    assert ([{k: v for k, v in r.items() if k not in drop} for r in read_metrics(out)]
            == [{k: v for k, v in r.items() if k not in drop} for r in read_metrics(clean)])


def test_a_demo_into_a_folder_another_process_writes_exits_2_naming_it(tmp_path, env, capsys):
    pytest.importorskip("matplotlib")
    out = tmp_path / "demo"
    proc = _holder(out, env)
    try:
        code = main(["demo", "--preset", "tiny", "--out", str(out), "--quiet"])
    finally:
        _kill(proc)
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and f"process {proc.pid}" in err
    assert [p.name for p in out.iterdir()] == [run_lock.LOCK_NAME]  # the demo wrote nothing
