"""The datasheet peaks by device name, MFU against the measured and the datasheet peak, and the
CUDA path of `bench.run` (both modes, both MFU columns) checked on a CPU with its measurements faked."""

from __future__ import annotations

import pytest

from progtheory import bench
from progtheory.bench import suite


@pytest.mark.parametrize("name, gpu, tflops", [
    ("NVIDIA H100 80GB HBM3", "H100 SXM", 989.0),
    ("NVIDIA H100 PCIe", "H100 PCIe", 756.0),
    ("NVIDIA H100 NVL", "H100 NVL", 835.0),
    ("NVIDIA H200", "H200 SXM", 989.0),
    ("NVIDIA A100-SXM4-80GB", "A100", 312.0),
    ("NVIDIA A100-PCIE-40GB", "A100", 312.0),
    ("NVIDIA A100 80GB PCIe", "A100", 312.0),
    ("NVIDIA L4", "L4", 121.0),
    ("NVIDIA L40S", "L40S", 362.0),
])
def test_a_known_gpu_gets_its_datasheet_dense_bf16_peak(name, gpu, tflops):
    assert bench.datasheet_gpu(name) == (gpu, tflops)
    assert bench.datasheet_peak_gflops(name) == 1e3 * tflops


@pytest.mark.parametrize("name", ["NVIDIA GH200 480GB", "NVIDIA A10G", "NVIDIA H800", "NVIDIA H100",
                                  "Tesla V100-SXM2-16GB", "NVIDIA GeForce RTX 4090", "", None])
def test_an_unknown_gpu_has_no_datasheet_peak_rather_than_a_guess(name):
    assert bench.datasheet_gpu(name) is None and bench.datasheet_peak_gflops(name) is None
    assert bench.mfu(100.0, bench.datasheet_peak_gflops(name)) is None


def test_a_family_name_inside_a_longer_word_does_not_match():
    # whole words only: L40S is not an L4, an A100 not an A10, a GH200 not an H200
    assert bench.datasheet_gpu("NVIDIA L40S")[0] == "L40S"
    assert bench.datasheet_gpu("NVIDIA A100-SXM4-40GB")[0] == "A100"
    assert bench.datasheet_gpu("NVIDIA GH200 480GB") is None


def test_mfu_is_achieved_over_peak_for_both_peaks():
    row = bench.with_mfu({"gflops": 247_250.0}, measured_peak_gflops=700_000.0, datasheet_peak=989_000.0)
    assert row["fraction_of_peak"] == pytest.approx(247_250 / 700_000)
    assert row["fraction_of_datasheet_peak"] == pytest.approx(0.25)
    assert bench.with_mfu({"gflops": 10.0}, 40.0, None)["fraction_of_datasheet_peak"] is None


@pytest.mark.parametrize("gflops, peak, what", [(-1.0, 10.0, "gflops=-1.0"), (1.0, 0.0, "peak_gflops=0.0")])
def test_mfu_refuses_a_negative_throughput_or_a_peak_that_is_not_positive(gflops, peak, what):
    with pytest.raises(ValueError, match=what):
        bench.mfu(gflops, peak)


def test_the_compile_modes_are_eager_on_cpu_both_on_cuda_and_the_one_asked_for():
    assert bench.compile_modes("cpu") == (False,) and bench.compile_modes("cuda") == (False, True)
    assert bench.compile_modes("cuda:1", True) == (True,) and bench.compile_modes("cuda", False) == (False,)
    assert bench.compile_modes("cpu", True) == (True,)


def _fake_cuda(monkeypatch):
    """Measurements a CUDA machine would make, as functions of their arguments."""
    import torch

    monkeypatch.setattr(suite, "matmul_peak", lambda n, device, dtype=torch.float32: 7e5 if dtype == torch.bfloat16
                        else 5e4)
    monkeypatch.setattr(suite, "predict_lr_speed", lambda calls: {"scalar depth": 1.0})
    model_row = {"params": 10, "ms_per_step": 2.0, "tokens_per_s": 1e6, "flops_per_token": 1.0, "warmup_s": 3.0,
                 "ref_ms_per_step": 2.2, "speed_vs_reference": 1.1, "speed_lo": 1.0, "speed_hi": 1.2}
    monkeypatch.setattr(suite, "bench_model", lambda case, compile, **kw: {
        "label": case.label, **model_row, "gflops": 98_900.0 * (1 + compile), "compile": compile,
        "mode": "compiled" if compile else "eager"})
    monkeypatch.setattr(suite, "bench_progressive", lambda case, compile, **kw: {
        "label": case.label, "source_depth": 1, "depth": 4, "params": 10, "ms_per_step": 2.0, "tokens_per_s": 1e6,
        "gflops": 49_450.0, "flops_per_token": 1.0, "source_ms_per_step": 1.0, "grow_s": 0.01, "startup_s": 20.0,
        "first_steps_s": 9.0, "recompile_s": 8.0, "compile": compile, "mode": "compiled" if compile else "eager"})


def test_on_cuda_each_model_is_measured_eager_and_compiled_with_mfu_against_both_peaks(monkeypatch):
    _fake_cuda(monkeypatch)
    lines = []
    res = bench.run(bench.quick_cases()[:1], device="cuda", peak_sizes=(64,), device_name="NVIDIA H100 80GB HBM3",
                    grow_cases=bench.progressive_cases(quick=True), print_fn=lines.append)
    assert (res["peak_gflops"], res["peak_dtype"], res["datasheet_peak_gflops"]) == (7e5, "bf16", 989e3)
    assert [r["mode"] for r in res["rows"]] == ["eager", "compiled"]
    assert [r["mode"] for r in res["progressive_rows"]] == ["eager", "compiled"]
    for r in res["rows"] + res["progressive_rows"]:
        assert r["fraction_of_peak"] == pytest.approx(r["gflops"] / 7e5)
        assert r["fraction_of_datasheet_peak"] == pytest.approx(r["gflops"] / 989e3)
    assert [r["fraction_of_datasheet_peak"] for r in res["rows"]] == pytest.approx([0.1, 0.2])
    text = "\n".join(lines)
    assert "compile eager, then compiled" in text and "MFU sheet" in text and "H100 SXM (989 TFLOP/s" in text
    (eager, compiled) = [line for line in lines if line.startswith("bytes d32 L0")]
    assert " eager " in eager and "10.0%" in eager and " compiled " in compiled and "20.0%" in compiled
    assert any(line.startswith("bytes d32 L1->L2 compiled") and line.rstrip().endswith("8.00") for line in lines)


def test_on_an_unknown_gpu_the_datasheet_mfu_reads_n_a(monkeypatch):
    _fake_cuda(monkeypatch)
    lines = []
    res = bench.run(bench.quick_cases()[:1], device="cuda", peak_sizes=(64,), device_name="NVIDIA GH200 480GB",
                    grow_cases=[], print_fn=lines.append)
    assert res["datasheet_peak_gflops"] is None
    assert all(r["fraction_of_datasheet_peak"] is None and r["fraction_of_peak"] > 0 for r in res["rows"])
    assert all(" n/a " in line for line in lines if line.startswith("bytes d32 L0"))
    assert any("'NVIDIA GH200 480GB' is not in bench.DATASHEET_BF16_TFLOPS" in line for line in lines)
