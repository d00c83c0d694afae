"""A loop that keeps its training losses on the device and reads them only at its read steps
(`timetable.SYNC_EVERY` > 1, the CUDA default) writes the results of one that reads every loss
at once, stops a diverged run at the same step, and leaves the row of every step it counted
in metrics.csv when it is interrupted.  The CPU runs below take the deferred path by setting
`SYNC_EVERY`; the last test checks on a GPU that the loop does not wait for the device
between its reads."""

from __future__ import annotations

import csv
import json
import os
import signal
from dataclasses import replace

import pytest
import torch

from progtheory import cli, presets
from progtheory.config import GrowthPlan, validate
from progtheory.core.model import GPT
from progtheory.train import timetable
from progtheory.train.loop import train
from progtheory.train.metrics import read_metrics

TIMES = ("wall_time", "cpu_time", "eval_time", "end_time")
DEFERRED = 1000  # longer than the tiny runs: the loop reads only at evaluations, checkpoints and stops


@pytest.fixture(scope="module")
def fixed_cfg(corpus):
    """tiny(): 40 steps, evaluated after steps 9, 19, 29, 39, checkpoints after 10, 20, 30, 40."""
    return presets.tiny(str(corpus))


@pytest.fixture(scope="module")
def copy_cfg(corpus):
    """tiny() at 3 layers grown from 1 by copy at step 20 of 40: growth statistics, the jolt
    and copy-symmetry probes at steps that are not evaluated."""
    tiny = presets.tiny(str(corpus))
    return validate(replace(tiny, model=replace(tiny.model, n_layer=3), name="tiny-copy",
                            growth=GrowthPlan(source_depth=1, stages=((0.5, 3),), init="copy")))


def _train(cfg, out, sync_every, **kw) -> dict:
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(timetable, "SYNC_EVERY", sync_every)
        return train(cfg, out, quiet=True, **kw)


@pytest.fixture(scope="module")
def per_step(fixed_cfg, copy_cfg, tmp_path_factory):
    """Run folders of the fixed and the copying run, each loss read before its update."""
    root = tmp_path_factory.mktemp("per_step")
    for name, cfg in (("fixed", fixed_cfg), ("copy", copy_cfg)):
        _train(cfg, root / name, 1)
    return root


def _csv_rows(out) -> list[dict]:
    """metrics.csv as written (text, not parsed), without the wall_time column."""
    with open(out / "metrics.csv", newline="") as f:
        return [{k: v for k, v in r.items() if k != "wall_time"} for r in csv.DictReader(f)]


def _summary(out) -> dict:
    return {k: v for k, v in json.loads((out / "summary.json").read_text()).items() if k not in TIMES}


def _model(out) -> dict:
    return torch.load(out / "ckpt.pt", weights_only=True)["model"]


def _same_model(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def _interrupt_training_forward(monkeypatch, at_call: int | None, how, nan_at_call: int | None = None) -> dict:
    """Patch GPT.forward: count the training calls (one per step), return a NaN loss at call
    `nan_at_call` and run `how` (which raises or signals) at call `at_call`, once; before it, note
    the rows metrics.csv holds."""
    forward = GPT.forward
    seen = {"calls": 0, "rows_on_disk": None}

    def patched(self, idx, targets=None):
        logits, loss = forward(self, idx, targets)
        if self.training:
            seen["calls"] += 1
            if seen["calls"] == nan_at_call:
                loss = loss * float("nan")
            if seen["calls"] == at_call:
                seen["rows_on_disk"] = len(read_metrics(seen["out"]))
                how()
        return logits, loss

    monkeypatch.setattr(GPT, "forward", patched)
    return seen


def _raise():
    raise KeyboardInterrupt("test")


def _sigterm():
    os.kill(os.getpid(), signal.SIGTERM)


@pytest.fixture
def cli_signal_handlers():
    """The handlers `progtheory train` installs (SIGTERM and SIGINT raise KeyboardInterrupt),
    restored afterwards."""
    old = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)
    cli._stop_on_signals()
    yield
    signal.signal(signal.SIGTERM, old[0])
    signal.signal(signal.SIGINT, old[1])


# ----------------------------------------------------------------------------- the same results

@pytest.mark.parametrize("sync_every", [7, DEFERRED])
@pytest.mark.parametrize("name", ["fixed", "copy"])
def test_deferred_reads_write_the_rows_summary_logs_and_model_of_per_step_reads(
        name, sync_every, fixed_cfg, copy_cfg, per_step, tmp_path):
    cfg = {"fixed": fixed_cfg, "copy": copy_cfg}[name]
    ref, out = per_step / name, tmp_path / "run"
    _train(cfg, out, sync_every)
    assert _csv_rows(out) == _csv_rows(ref)
    assert _summary(out) == _summary(ref) and _summary(out)["status"] == "completed"
    assert (out / "config.json").read_bytes() == (ref / "config.json").read_bytes()  # no new config field
    assert _same_model(_model(out), _model(ref))
    logs = sorted(p.name for p in ref.iterdir() if p.name.startswith("growth_stats") or p.suffix == ".jsonl")
    assert logs == (["growth_stats_20.json", "symmetry.jsonl"] if name == "copy" else [])
    for log in logs:
        assert (out / log).read_text() == (ref / log).read_text()


def test_deferred_reads_keep_each_rows_wall_time_monotone_and_the_summarys_equal_to_the_last_row(
        fixed_cfg, tmp_path):
    out = tmp_path / "run"
    summary = _train(fixed_cfg, out, DEFERRED)
    wall = [r["wall_time"] for r in read_metrics(out)]
    assert all(b >= a for a, b in zip(wall, wall[1:])) and summary["wall_time"] == wall[-1]


def test_sync_every_must_be_a_positive_integer(fixed_cfg, tmp_path):
    with pytest.raises(ValueError, match="SYNC_EVERY=0 must be an integer >= 1"):
        _train(fixed_cfg, tmp_path / "run", 0)


# ----------------------------------------------------------------------------- divergence

@pytest.mark.parametrize("nan_step, read_step", [(5, 9), (12, 19)])
def test_a_nan_loss_between_reads_stops_the_run_at_the_next_read_as_diverged_at_that_step(
        fixed_cfg, tmp_path, monkeypatch, nan_step, read_step):
    # the loss of step `nan_step` is NaN; the deferred loop sees it after step `read_step` (the
    # next evaluation and checkpoint) and ends the run as the per-step loop ends it at once
    seen = _interrupt_training_forward(monkeypatch, at_call=None, how=None, nan_at_call=nan_step + 1)
    _train(fixed_cfg, tmp_path / "ref", 1)
    assert seen["calls"] == nan_step + 1
    seen["calls"] = 0
    summary = _train(fixed_cfg, tmp_path / "run", DEFERRED)
    assert seen["calls"] == read_step + 1   # within one interval
    assert summary["status"] == "diverged" and summary["steps_done"] == nan_step + 1
    assert summary["diverged_reason"] == f"training loss nan at step {nan_step} is not finite"
    assert _summary(tmp_path / "run") == _summary(tmp_path / "ref")
    assert _csv_rows(tmp_path / "run") == _csv_rows(tmp_path / "ref")
    assert len(read_metrics(tmp_path / "run")) == nan_step + 1
    ckpt = tmp_path / "run" / "ckpt.pt"   # none written from the steps after the NaN
    assert (torch.load(ckpt, weights_only=True)["counters"]["step"] if ckpt.exists() else 0) == nan_step // 10 * 10


def test_a_huge_learning_rate_diverges_at_the_same_step_and_for_the_same_reason_with_deferred_reads(
        fixed_cfg, tmp_path):
    cfg = replace(fixed_cfg, optimizer="sgd", lr=1e12, momentum=0.0)
    ref = _train(cfg, tmp_path / "ref", 1)
    s = _train(cfg, tmp_path / "run", DEFERRED)
    assert ref["status"] == s["status"] == "diverged" and s["steps_done"] < cfg.steps
    assert _summary(tmp_path / "run") == _summary(tmp_path / "ref")
    assert _csv_rows(tmp_path / "run") == _csv_rows(tmp_path / "ref")


# ----------------------------------------------------------------------------- interruption

@pytest.mark.parametrize("how", [_raise, _sigterm], ids=["KeyboardInterrupt", "SIGTERM"])
@pytest.mark.usefixtures("cli_signal_handlers")
def test_an_interruption_between_reads_writes_every_counted_steps_row_and_the_run_resumes_bitwise(
        how, fixed_cfg, per_step, tmp_path, monkeypatch):
    # reads after steps 9 and 19; the interruption comes in the forward pass of step 14
    out = tmp_path / "run"
    seen = _interrupt_training_forward(monkeypatch, at_call=15, how=how)
    seen["out"] = out
    with pytest.raises(KeyboardInterrupt):
        _train(fixed_cfg, out, DEFERRED)
    assert seen["rows_on_disk"] == 10   # steps 10-13 were buffered, not yet written
    summary = json.loads((out / "summary.json").read_text())
    assert summary["status"] == "interrupted" and summary["steps_done"] == 14
    assert _csv_rows(out) == _csv_rows(per_step / "fixed")[:14]
    assert summary["wall_time"] == read_metrics(out)[-1]["wall_time"]
    resumed = _train(fixed_cfg, out, DEFERRED, resume=True)
    assert resumed["status"] == "completed" and seen["calls"] == 15 + 30   # from the checkpoint at step 10
    assert _csv_rows(out) == _csv_rows(per_step / "fixed")
    assert _same_model(_model(out), _model(per_step / "fixed"))


def test_an_interruption_after_an_unread_nan_loss_ends_the_run_as_diverged_at_that_step(
        fixed_cfg, per_step, tmp_path, monkeypatch):
    out = tmp_path / "run"
    seen = _interrupt_training_forward(monkeypatch, at_call=16, how=_raise, nan_at_call=13)
    seen["out"] = out
    with pytest.raises(KeyboardInterrupt):
        _train(fixed_cfg, out, DEFERRED)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["status"] == "diverged" and summary["steps_done"] == 13
    assert summary["diverged_reason"] == "training loss nan at step 12 is not finite"
    assert _csv_rows(out)[:12] == _csv_rows(per_step / "fixed")[:12] and len(_csv_rows(out)) == 13


# ----------------------------------------------------------------------------- on a GPU

@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_on_cuda_the_loop_waits_for_the_device_only_after_its_read_steps(fixed_cfg, tmp_path, monkeypatch):
    # eval_every=20 and checkpoints every 10 steps: the loop reads after steps 9, 19, 29 and 39
    cfg = replace(fixed_cfg, device="cuda", eval_every=20, ckpt_every=10)
    monkeypatch.setattr(timetable, "SYNC_EVERY", None)  # the CUDA default
    step = {"t": -1}  # the step whose forward pass ran last
    forward = GPT.forward

    def counting(self, idx, targets=None):
        if self.training:
            step["t"] += 1
        return forward(self, idx, targets)

    waits = []
    synchronize = torch.cuda.synchronize

    def counted_synchronize(*args, **kwargs):
        waits.append(("synchronize", step["t"]))
        return synchronize(*args, **kwargs)

    def counted(name):
        original = getattr(torch.Tensor, name)

        def method(self, *args, **kwargs):
            if self.is_cuda:  # the optimizer reads its step counters on the host, which is no wait
                waits.append((name, step["t"]))
            return original(self, *args, **kwargs)
        return method

    monkeypatch.setattr(GPT, "forward", counting)
    monkeypatch.setattr(torch.cuda, "synchronize", counted_synchronize)
    for name in ("item", "tolist", "__float__"):
        monkeypatch.setattr(torch.Tensor, name, counted(name))
    summary = train(cfg, tmp_path / "run", quiet=True)
    assert summary["status"] == "completed" and step["t"] == 39
    assert {t for _, t in waits} <= {-1, 9, 19, 29, 39}, sorted(set(waits))
    assert ("synchronize", 19) in waits and ("tolist", 19) in waits   # the read itself is counted
