"""Where a run executes: 2 CPU processes (gloo) train exactly as 1 process with the same global
batch; a compiled run grows and matches eager mode."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from progtheory import presets
from progtheory.config import ConfigError
from progtheory.train import distributed, launch
from progtheory.train.loop import train
from progtheory.train.metrics import read_metrics

# Two processes sum gradients in another order than one process does; over a few Adam steps
# the losses stay equal to float32 rounding, far inside 1e-5.
TOL = 1e-5


@pytest.fixture(scope="module")
def grown_cfg(corpus, tmp_path_factory):
    """The tiny progressive run (0 -> 2 layers at step 4 of 8), global batch 8, on the test
    corpus as byte-level token files (each process then starts in well under a second)."""
    folder = tmp_path_factory.mktemp("tokens")
    text = b"".join(f.read_bytes() for f in sorted(corpus.glob("*.txt")))
    ids = np.frombuffer(text, dtype=np.uint8).astype(np.uint16)
    cut = int(0.8 * ids.size)
    ids[:cut].tofile(folder / "train.bin")
    ids[cut:].tofile(folder / "val.bin")
    cfg = presets.tiny(corpus=str(folder), progressive=True)
    return replace(cfg, steps=8, eval_every=2, ckpt_every=4, growth=replace(cfg.growth, stages=((4, 2),)))


@pytest.fixture(scope="module")
def one_process(grown_cfg, tmp_path_factory):
    out = tmp_path_factory.mktemp("one")
    train(grown_cfg, out, quiet=True)
    return read_metrics(out)


def _assert_same_curve(rows, reference):
    assert [r["step"] for r in rows] == [r["step"] for r in reference]
    assert [r["depth"] for r in rows] == [r["depth"] for r in reference]
    for r, ref in zip(rows, reference):
        assert r["train_loss"] == pytest.approx(ref["train_loss"], abs=TOL)
        assert (r["val_loss"] is None) == (ref["val_loss"] is None)
        if ref["val_loss"] is not None:
            assert r["val_loss"] == pytest.approx(ref["val_loss"], abs=TOL)


def test_two_gloo_processes_through_growth_match_one_process_and_resume_with_one(grown_cfg, one_process, tmp_path,
                                                                                monkeypatch):
    monkeypatch.setenv("PYTHONWARNINGS", "error")  # warnings are errors in the spawned processes too
    # 2 processes train steps 0-5 (growth at step 4 rebuilds the DDP wrapper), checkpoint at 4
    summary = launch.launch_local(2, grown_cfg, tmp_path, quiet=True, stop_after=6)
    assert summary["status"] == "interrupted"
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("ckpt")) == ["ckpt.pt"]
    _assert_same_curve(read_metrics(tmp_path), one_process[:6])
    # ... and 1 process resumes the run from the step-4 checkpoint to the end
    summary = train(grown_cfg, tmp_path, resume=True, quiet=True)
    assert summary["status"] == "completed" and summary["depth"] == 2
    _assert_same_curve(read_metrics(tmp_path), one_process)


def test_a_global_batch_that_does_not_split_over_the_processes_is_refused(tmp_path):
    cfg = replace(presets.tiny(), batch_size=7, steps=2)

    class FakeGroup:
        world_size = 2

    with pytest.raises(ConfigError, match="batch_size=7 does not split over 2 processes"):
        distributed.check_batch(cfg, FakeGroup())


def test_one_process_needs_no_process_group():
    group = distributed.join(presets.tiny())
    assert (group.rank, group.world_size, group.is_main) == (0, 1, True)
    assert group.shard("x", "y") == ("x", "y")


def test_launch_local_refuses_a_cuda_config(tmp_path):
    with pytest.raises(ConfigError, match="device='cuda'"):
        launch.launch_local(2, replace(presets.tiny(), device="cuda"), tmp_path)


# ----------------------------------------------------------------------------- compiled training

def _compiled_vs_eager(cfg, out):
    train(cfg, out / "eager", quiet=True)
    train(replace(cfg, compile=True), out / "compiled", quiet=True)
    return read_metrics(out / "compiled"), read_metrics(out / "eager")


def test_a_grown_model_trained_compiled_matches_eager(grown_cfg, tmp_path, monkeypatch):
    # aot_eager traces and splits forward/backward as inductor does, without generating kernels,
    # so the graph of the 0-layer source and its recompilation after growth are what is checked
    monkeypatch.setattr(distributed, "COMPILE_BACKEND", "aot_eager")
    compiled, eager = _compiled_vs_eager(grown_cfg, tmp_path)
    _assert_same_curve(compiled, eager)


@pytest.mark.slow
def test_a_grown_model_trained_with_inductor_matches_eager(grown_cfg, tmp_path):
    # inductor fuses and reorders float32 reductions: agreement to 1e-4 over 8 steps
    compiled, eager = _compiled_vs_eager(grown_cfg, tmp_path)
    for r, ref in zip(compiled, eager):
        assert r["train_loss"] == pytest.approx(ref["train_loss"], abs=1e-4)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_on_cuda_a_grown_model_compiled_under_bf16_matches_eager_and_adamw_is_fused(grown_cfg, tmp_path):
    cfg = replace(grown_cfg, device="cuda")
    compiled, eager = _compiled_vs_eager(cfg, tmp_path)
    # bf16 autocast keeps ~3 significant digits; compiled and eager round differently
    for r, ref in zip(compiled, eager):
        assert r["train_loss"] == pytest.approx(ref["train_loss"], abs=0.05)
    from progtheory.core.model import GPT
    from progtheory.core.optim import build_optimizer

    opt = build_optimizer(GPT(cfg.model, depth=0).cuda(), cfg, 0)
    assert all(group["fused"] for group in opt.param_groups)


def test_a_batch_reaches_the_device_unchanged():
    x = np.arange(12, dtype=np.int64).reshape(3, 4)
    assert torch.equal(distributed.to_device(x, "cpu"), torch.from_numpy(x))
    if torch.cuda.is_available():
        assert torch.equal(distributed.to_device(x, "cuda").cpu(), torch.from_numpy(x))
