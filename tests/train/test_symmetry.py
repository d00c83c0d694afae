"""The copy-symmetry probe (progtheory.train.symmetry): its measures at their limits, and the lines a
copying progressive run writes to symmetry.jsonl without changing what it trains."""

import json
import math
from dataclasses import replace

import pytest
import torch

from progtheory import presets, sweep
from progtheory.config import GPTConfig, GrowthPlan, resolve_stages, run_id, validate
from progtheory.core.model import GPT
from progtheory.theory.growth_layout import expansion_layout
from progtheory.train import symmetry
from progtheory.train.loop import train
from progtheory.train.metrics import read_metrics

M = symmetry.MATRICES


def _model(width=32, depth=2, seed=0):
    torch.manual_seed(seed)
    return GPT(GPTConfig(vocab_size=64, block_size=16, n_layer=depth, n_head=2, n_embd=width, base_width=width))


def _idx(seed=1):
    return torch.randint(0, 64, (4, 16), generator=torch.Generator().manual_seed(seed))


# ----------------------------------------------------------------------------- groups and limits

def test_copy_groups_hold_each_source_block_with_its_copies():
    assert symmetry.copy_groups(expansion_layout(1, 3, "copy")) == [(0, 1, 2)]
    assert symmetry.copy_groups(expansion_layout(2, 5, "copy_stack")) == [(0, 2, 4), (1, 3)]
    assert symmetry.copy_groups(expansion_layout(2, 5, "copy_inter", "interleave")) == [(0, 1, 2), (3, 4)]
    assert symmetry.copy_groups(expansion_layout(2, 4, "copy_last")) == [(1, 2, 3)]
    assert symmetry.copy_groups(expansion_layout(1, 3, "random")) == []


def test_identical_blocks_have_cosine_one_distance_zero_effective_rank_one_and_equal_branches():
    model = _model()
    model.blocks[1].load_state_dict(model.blocks[0].state_dict())
    out = symmetry.copy_symmetry(model, [(0, 1)], _idx())
    (pair,) = out["pairs"]
    assert (pair["i"], pair["j"]) == (0, 1) and out["groups"] == [[0, 1]]
    assert all(pair["cos"][m] == pytest.approx(1.0, abs=1e-12) for m in M)
    assert all(pair["rel_dist"][m] == 0.0 for m in M)
    # float64 Gram eigenvalues of parallel rows: the second is ~1e-16 of the first, its sqrt ~1e-8
    assert all(out["eff_rank"][0][m] == pytest.approx(1.0, abs=1e-6) for m in M)
    assert pair["branch_cos"] == pytest.approx(1.0, abs=1e-12)


def test_independently_initialised_blocks_are_nearly_orthogonal_with_effective_rank_near_two():
    out = symmetry.copy_symmetry(_model(width=64), [(0, 1)], _idx())
    (pair,) = out["pairs"]
    # independent Gaussian vectors of n >= 64 * 64 entries: |cos| ~ n^-1/2 <= 0.016, so 0.1 is > 6 sd
    assert all(abs(pair["cos"][m]) < 0.1 for m in M)
    assert all(pair["rel_dist"][m] == pytest.approx(math.sqrt(2), rel=0.1) for m in M)
    assert all(1.9 < out["eff_rank"][0][m] <= 2.0 for m in M)
    assert abs(pair["branch_cos"]) < 0.9


def test_a_zeroed_output_projection_has_no_cosine_and_full_distance_from_its_source():
    model = _model()
    model.blocks[1].load_state_dict(model.blocks[0].state_dict())
    for lin in (model.blocks[1].attn.c_proj, model.blocks[1].mlp.c_proj):  # as copy_zero grows
        torch.nn.init.zeros_(lin.weight)
        torch.nn.init.zeros_(lin.bias)
    (pair,) = symmetry.copy_symmetry(model, [(0, 1)], _idx())["pairs"]
    assert pair["cos"]["attn.c_proj"] is None and pair["rel_dist"]["attn.c_proj"] == 1.0
    assert pair["cos"]["mlp.c_fc"] == pytest.approx(1.0, abs=1e-12) and pair["branch_cos"] is None


def test_effective_rank_counts_orthogonal_rows_and_a_zero_matrix_has_none():
    assert symmetry.effective_rank(torch.eye(3, 5)) == pytest.approx(3.0)
    assert symmetry.effective_rank(torch.ones(4, 6)) == pytest.approx(1.0, abs=1e-6)
    assert symmetry.effective_rank(torch.zeros(2, 3)) is None


def test_the_probe_draws_no_random_numbers_changes_no_parameter_and_builds_no_graph():
    model = _model(depth=3)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    rng = torch.get_rng_state()
    out = symmetry.copy_symmetry(model, [(0, 1, 2)], _idx())
    assert torch.equal(torch.get_rng_state(), rng) and model.training
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert [(p["i"], p["j"]) for p in out["pairs"]] == [(0, 1), (0, 2), (1, 2)]
    assert json.loads(json.dumps(out)) == out  # JSON-ready as it is
    assert symmetry.copy_symmetry(model, [], _idx()) == {"groups": [], "eff_rank": [], "pairs": []}


# ----------------------------------------------------------------------------- when to measure

def test_probe_offsets_are_zero_then_one_two_five_per_decade():
    assert symmetry.probe_offsets(0) == [0]
    assert symmetry.probe_offsets(120) == [0, 1, 2, 5, 10, 20, 50, 100]
    with pytest.raises(ValueError, match="span=-1"):
        symmetry.probe_offsets(-1)


def test_probe_plan_follows_each_copying_stage_to_the_next_growth_step_or_the_end():
    two = validate(replace(presets.tiny(), model=replace(presets.tiny().model, n_layer=4),
                           growth=GrowthPlan(source_depth=1, stages=((10, 2), (20, 4)), init="copy_stack")))
    plan = symmetry.probe_plan(two, evaluated={10, 20, 30, 40})
    assert sorted(plan) == [10, 11, 12, 15, 19, 20, 21, 22, 25, 30, 40]
    assert plan[19] == (10, [(0, 1)]) and plan[20] == (20, [(0, 2), (1, 3)]) and plan[40][0] == 20
    assert symmetry.probe_plan(presets.tiny()) == {}
    assert symmetry.probe_plan(presets.tiny(progressive=True)) == {}  # random growth makes no copies


# ----------------------------------------------------------------------------- in a training run

@pytest.fixture(scope="module")
def copy_cfg(corpus):
    """tiny() at 3 layers grown from 1 by copy at step 20 of 40."""
    tiny = presets.tiny(str(corpus))
    return validate(replace(tiny, model=replace(tiny.model, n_layer=3), name="tiny-copy",
                            growth=GrowthPlan(source_depth=1, stages=((0.5, 3),), init="copy")))


@pytest.fixture(scope="module")
def copy_run(copy_cfg, tmp_path_factory):
    out = tmp_path_factory.mktemp("copy") / "run"
    train(copy_cfg, out, quiet=True)
    return out


def _lines(out):
    return [json.loads(line) for line in (out / symmetry.LOG).read_text().splitlines()]


def test_a_copying_run_logs_identical_copies_at_tau_that_then_separate(copy_run, copy_cfg):
    lines = _lines(copy_run)
    (tau, _), = resolve_stages(copy_cfg)
    assert [r["step"] for r in lines] == sorted(symmetry.probe_plan(copy_cfg, {20, 30, 40}))
    assert [r["step"] for r in lines] == [20, 21, 22, 25, 30, 40]
    first, last = lines[0], lines[-1]
    assert first["step"] == first["tau"] == tau and first["updates"] == 0 and first["groups"] == [[0, 1, 2]]
    assert [(p["i"], p["j"]) for p in first["pairs"]] == [(0, 1), (0, 2), (1, 2)]
    for p in first["pairs"]:  # just grown: exact copies
        assert all(p["rel_dist"][m] == 0.0 for m in M) and p["branch_cos"] == pytest.approx(1.0, abs=1e-12)
    assert all(r == pytest.approx(1.0, abs=1e-6) for r in first["eff_rank"][0].values())
    # blocks at different depths get different gradients: after 20 updates every pair has moved apart
    assert all(p["rel_dist"][m] > 0 for p in last["pairs"] for m in M)
    assert all(p["cos"]["mlp.c_fc"] < 1 - 1e-9 for p in last["pairs"])
    assert last["eff_rank"][0]["mlp.c_fc"] > 1.0


def test_the_probe_does_not_change_what_training_computes(copy_run, copy_cfg, tmp_path, monkeypatch):
    monkeypatch.setattr(symmetry, "probe_plan", lambda cfg, evaluated=(): {})
    out = tmp_path / "run"
    train(copy_cfg, out, quiet=True)
    assert not (out / symmetry.LOG).exists()
    without_wall = [{k: v for k, v in r.items() if k != "wall_time"} for r in read_metrics(out)]
    assert without_wall == [{k: v for k, v in r.items() if k != "wall_time"} for r in read_metrics(copy_run)]
    trained = torch.load(out / "ckpt.pt", weights_only=True)["model"]
    reference = torch.load(copy_run / "ckpt.pt", weights_only=True)["model"]
    assert all(torch.equal(trained[k], reference[k]) for k in reference)


@pytest.mark.parametrize("stop_after", [25, 35], ids=["ckpt-at-tau", "ckpt-after-tau"])
def test_a_resumed_run_writes_each_line_once_and_the_same_lines_as_an_uninterrupted_run(
        copy_run, copy_cfg, tmp_path, stop_after):
    out = tmp_path / "run"
    train(copy_cfg, out, quiet=True, stop_after=stop_after)
    assert max(r["step"] for r in _lines(out)) < stop_after
    train(copy_cfg, out, resume=True, quiet=True)
    assert (out / symmetry.LOG).read_text() == (copy_run / symmetry.LOG).read_text()


def test_overwrite_starts_the_symmetry_log_afresh(copy_cfg, tmp_path):
    out = tmp_path / "run"
    train(replace(copy_cfg, steps=24), out, quiet=True)
    train(replace(copy_cfg, steps=24), out, overwrite=True, quiet=True)
    steps = [r["step"] for r in _lines(out)]
    assert steps == sorted(set(steps))


def test_collect_gathers_each_runs_symmetry_lines_tagged_with_its_run_id(copy_run, copy_cfg, tmp_path):
    import shutil

    rid = run_id(copy_cfg)
    shutil.copytree(copy_run, tmp_path / "runs" / rid)
    exp = sweep.Experiment(name="sym", question="", predictions=(), theory=(),
                           runs=lambda smoke: [sweep.Run({"seed": 0}, copy_cfg)])
    sweep.collect(exp, tmp_path / "runs", tmp_path / "results" / "sym")
    recs = _lines(tmp_path / "results" / "sym")
    assert [r.pop("run_id") for r in recs] == [rid] * len(_lines(copy_run))
    assert recs == _lines(copy_run)
