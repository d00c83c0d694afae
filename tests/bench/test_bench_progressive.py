"""The progressive path of the benchmark: a model grown mid-benchmark, timed after its growth,
with the growth and the recompile after it counted apart.  A fake clock and a fake compiler
that charges a known compile time on each compiled model's first call check the accounting
on a CPU at a tiny size, with real training steps."""

from __future__ import annotations

import pytest

from progtheory import bench
from progtheory.core.model import GPT
from progtheory.theory.compute import flops_per_token


class FakeClock:
    """Seconds that move only when told to, plus `tick` at each reading."""

    def __init__(self, tick: float = 0.0):
        self.now, self.tick = 0.0, tick

    def __call__(self) -> float:
        self.now += self.tick
        return self.now


def fake_compiler(clock: FakeClock, compile_s: float, per_block_s: float, compiled: list[int]):
    """Stands in for torch.compile: the model it returns costs `compile_s` on its first call and
    `per_block_s` per block on every call; `compiled` records the depth of each model compiled."""

    def compile_fn(model):
        compiled.append(model.depth)
        fresh = [True]

        def forward(x, y):
            clock.now += compile_s * fresh[0] + per_block_s * model.depth
            fresh[0] = False
            return model(x, y)

        return forward

    return compile_fn


def test_the_recompile_after_growth_is_counted_apart_from_the_steps_after_it():
    (case,) = bench.progressive_cases(quick=True)   # bytes d32, 1 -> 2 blocks, batch 4 x 32 tokens
    clock, compiled = FakeClock(), []
    row = bench.bench_progressive(case, steps=3, warmup=2, compile=True, clock=clock,
                                  compile_fn=fake_compiler(clock, 7.0, 0.01, compiled))
    assert compiled == [1, 2]  # compiled at the source depth, and again after growth, as the trainer does
    assert (row["source_depth"], row["depth"], row["mode"]) == (1, 2, "compiled")
    assert row["startup_s"] == pytest.approx(7.0) and row["recompile_s"] == pytest.approx(7.0)
    assert row["first_steps_s"] == pytest.approx(7.0 + 2 * 0.02)
    assert row["grow_s"] == 0.0  # the fake growth takes no time on this clock, and no compile falls in it
    assert row["source_ms_per_step"] == pytest.approx(10.0) and row["ms_per_step"] == pytest.approx(20.0)
    tokens = case.batch_size * case.model.block_size
    assert row["tokens_per_s"] == pytest.approx(tokens / 0.02)
    fpt = flops_per_token(case.model, depth=2, convention="exact")
    assert row["flops_per_token"] == fpt and row["gflops"] == pytest.approx(fpt * tokens / 0.02 / 1e9)
    assert row["params"] == GPT(case.model).num_params()  # the grown model is a model of the target depth


def test_eager_growth_never_calls_the_compiler_and_has_no_recompile():
    (case,) = bench.progressive_cases(quick=True)

    def refuse(model):
        raise AssertionError("an eager benchmark compiled a model")

    row = bench.bench_progressive(case, steps=2, warmup=0, clock=FakeClock(tick=0.5), compile_fn=refuse)
    # every interval reads one tick; with warmup=0 one step after growth still settles apart
    assert (row["mode"], row["recompile_s"], row["startup_s"]) == ("eager", 0.0, 0.0)
    assert row["grow_s"] == 0.5 and row["ms_per_step"] == 500.0 and row["first_steps_s"] == 0.5


def test_growth_accounting_floors_at_zero_and_needs_steps_past_the_warmup():
    acc = bench.growth_accounting([0.9, 1.0, 1.0], 0.25, [1.5, 2.0, 2.0, 2.0], settle=1)
    assert acc == {"source_s_per_step": 1.0, "s_per_step": 2.0, "grow_s": 0.25, "startup_s": 0.0,
                   "first_steps_s": 1.5, "recompile_s": 0.0}
    with pytest.raises(ValueError, match="settle=2"):
        bench.growth_accounting([1.0, 1.0], 0.0, [1.0, 1.0, 1.0], settle=2)


@pytest.mark.parametrize("depth", [None, 2, 3])
def test_a_progressive_case_must_grow(depth):
    model = bench.progressive_cases(quick=True)[0].model   # n_layer = 2
    with pytest.raises(ValueError, match=f"depth={depth} to model.n_layer=2"):
        bench.bench_progressive(bench.BenchCase("flat", model, 4, depth=depth), steps=1, warmup=0)


def test_the_benchmark_grows_the_default_model_from_one_to_four_blocks_on_cuda_only():
    from progtheory import presets

    (case,) = bench.default_progressive_cases("cuda")
    assert (case.depth, case.model) == (1, presets.default().model) and case.model.n_layer == 4
    assert bench.default_progressive_cases("cpu") == [] and bench.default_progressive_cases("cpu", quick=True) == []
    assert [c.label for c in bench.default_progressive_cases("cuda", quick=True)] == ["bytes d32 L1->L2"]
