"""The benchmark's plain reference GPT-2 and its side-by-side timing of the core."""

from __future__ import annotations

import math

import pytest
import torch

from progtheory import bench
from progtheory.config import GPTConfig
from progtheory.core.model import GPT

# core name -> reference name, per block
_BLOCK_NAMES = {"ln_1": "ln_1", "attn.c_attn": "qkv", "attn.c_proj": "attn_out", "ln_2": "ln_2",
                "mlp.c_fc": "fc", "mlp.c_proj": "mlp_out"}


def reference_with_core_weights(core: GPT) -> bench.ReferenceGPT:
    ref = bench.ReferenceGPT(core.cfg, depth=core.depth)
    state = {}
    for name, value in core.state_dict().items():
        if name.endswith("branch_scale"):
            continue
        if name.startswith("blocks."):
            _, i, rest = name.split(".", 2)
            module, leaf = rest.rsplit(".", 1)
            name = f"blocks.{i}.{_BLOCK_NAMES[module]}.{leaf}"
        state[name] = value
    ref.load_state_dict(state)
    return ref


def _batch(cfg: GPTConfig, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    return (torch.randint(0, cfg.vocab_size, (3, cfg.block_size), generator=g),
            torch.randint(0, cfg.vocab_size, (3, cfg.block_size), generator=g))


@pytest.mark.parametrize("depth", [0, 1, 3])
@pytest.mark.parametrize("bias", [True, False])
def test_reference_and_core_compute_the_same_loss_and_gradients_with_equal_weights(depth, bias):
    cfg = GPTConfig(vocab_size=61, block_size=16, n_layer=3, n_head=2, n_embd=32, bias=bias, base_width=32)
    torch.manual_seed(0)
    core = GPT(cfg, depth=depth)
    ref = reference_with_core_weights(core)
    x, y = _batch(cfg)
    _, loss_core = core(x, y)
    loss_ref = ref(x, y)
    loss_core.backward()
    loss_ref.backward()
    # same operations in the same order under sp: equal to fp32 rounding
    torch.testing.assert_close(loss_core, loss_ref, rtol=0, atol=1e-6)
    torch.testing.assert_close(core.wte.weight.grad, ref.wte.weight.grad, rtol=1e-5, atol=1e-7)


def test_reference_has_exactly_as_many_parameters_as_the_core():
    cfg = GPTConfig(vocab_size=100, block_size=8, n_layer=2, n_head=2, n_embd=16)
    assert sum(p.numel() for p in bench.ReferenceGPT(cfg).parameters()) == GPT(cfg).num_params()


def test_bench_times_the_core_against_the_reference_and_reports_mfu():
    lines = []
    res = bench.run(bench.quick_cases(), steps=2, warmup=1, device="cpu", peak_sizes=(64,),
                    predict_lr_calls=10, print_fn=lines.append)
    assert res["peak_dtype"] == "fp32"
    for row in res["rows"]:
        assert row["speed_vs_reference"] > 0 and row["ref_ms_per_step"] > 0
        assert 0 < row["fraction_of_peak"] == pytest.approx(row["gflops"] / res["peak_gflops"])
    assert any("MFU" in line and "vs ref" in line for line in lines)


def test_the_gpt2_124m_shape_is_benchmarked_on_cuda_only():
    assert all("124M" not in c.label for c in bench.default_cases("cpu"))
    (big,) = [c for c in bench.default_cases("cuda") if "124M" in c.label]
    assert (big.model.n_embd, big.model.n_layer, big.model.block_size) == (768, 12, 1024)


def test_speed_interval_brackets_the_ratio_of_medians_and_needs_paired_steps():
    ref, core = [1.0, 1.1, 0.9, 1.05, 0.95, 1.0], [0.5, 0.55, 0.45, 0.52, 0.48, 0.5]  # core 2x faster
    lo, hi = bench.speed_interval(ref, core)
    assert lo <= 1.0 / 0.5 <= hi and 1.8 < lo and hi < 2.2
    assert all(math.isnan(v) for v in bench.speed_interval([1.0, 1.0], [1.0, 1.0]))  # too few pairs
    with pytest.raises(ValueError, match="one time per interleaved step"):
        bench.speed_interval([1.0, 1.0, 1.0], [1.0, 1.0])


def test_bench_reports_the_optimizer_step_ops_and_its_time_against_adamw_at_quick_sizes():
    lines = []
    res = bench.run([], steps=3, warmup=1, device="cpu", peak_sizes=(64,), predict_lr_calls=10,
                    opt_cases=bench.optimizer_cases(quick=True), print_fn=lines.append)
    (row,) = res["optimizer_rows"]
    assert row["label"] == "recipe d32 L2"
    assert 0 < row["muon_ops"] <= bench.OPS_TARGET < row["loop_ops"]
    assert row["muon_ops"] <= row["muon_ops_total"] and row["loop_ops"] <= row["loop_ops_total"]
    for key in ("muon_vs_adamw", "loop_vs_adamw", "muon_ms_per_step", "adamw_ms_per_step", "loop_ms_per_step"):
        assert row[key] > 0
    assert row["muon_vs_adamw_lo"] <= row["muon_vs_adamw_hi"]
    assert any("Muon/AdamW" in line and "loop/AdamW" in line for line in lines)
    assert any(line.startswith("recipe d32 L2") and f"{row['muon_ops']:>5}" in line for line in lines)


def test_the_optimizer_cases_are_the_recipe_at_the_default_shape_and_at_width_256():
    from progtheory import presets

    cases = bench.optimizer_cases()
    assert [(c.model.n_embd, c.model.n_layer) for c in cases] == [(128, 4), (256, 4)]
    assert cases[0].model == presets.recipe().model and cases[0].batch_size == presets.recipe().batch_size


def test_a_muon_step_dispatches_a_number_of_ops_independent_of_depth():
    shallow, deep = bench.optimizer_cases(quick=True) * 2
    deep = bench.BenchCase("deep", deep.model, deep.batch_size, depth=4)
    ops = [bench.optimizer_ops(case)["dispatched"] for case in (shallow, deep)]
    loop = [bench.optimizer_ops(case, "loop")["dispatched"] for case in (shallow, deep)]
    # per block: views of c_attn and of its momentum as q, k, v, and the tall c_fc momentum transposed
    assert ops[1] - ops[0] == 3 * (4 - 2) and loop[1] - loop[0] > 100 * (4 - 2)


def test_the_loop_yardstick_takes_the_steps_of_the_batched_optimizer():
    import copy

    from progtheory.core.model import GPT

    (case,) = bench.optimizer_cases(quick=True)
    cfg = bench._recipe_run(case)
    torch.manual_seed(0)
    model = GPT(cfg.model)
    twin = copy.deepcopy(model)
    opts = [bench._optimizer("muon", model, cfg), bench._optimizer("loop", twin, cfg)]
    x, y = _batch(cfg.model)
    for _ in range(3):
        for m, opt in zip((model, twin), opts):
            opt.zero_grad()
            m(x, y)[1].backward()
            opt.step()
    for p, q in zip(model.parameters(), twin.parameters()):
        torch.testing.assert_close(p, q, rtol=1e-4, atol=1e-5)  # fp32 rounding order, 3 steps
