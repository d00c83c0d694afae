"""The training loop on a tiny byte-level model: results files, resume, divergence, FLOPs."""

import csv
import json
import math
import subprocess
import sys
from dataclasses import replace

import pytest
import torch

from progtheory import presets
from progtheory.config import from_dict, override, resolve_stages, run_id
from progtheory.core.model import GPT
from progtheory.theory.compute import flops_per_token
from progtheory.train.loop import train
from progtheory.train.metrics import METRIC_COLUMNS, read_metrics


@pytest.fixture(scope="module")
def fixed_cfg(corpus):
    return presets.tiny(str(corpus))


@pytest.fixture(scope="module")
def prog_cfg(corpus):
    return presets.tiny(str(corpus), progressive=True)


@pytest.fixture(scope="module")
def fixed_run(fixed_cfg, tmp_path_factory):
    out = tmp_path_factory.mktemp("fixed") / "run"
    return out, train(fixed_cfg, out, quiet=True)


@pytest.fixture(scope="module")
def prog_run(prog_cfg, tmp_path_factory):
    out = tmp_path_factory.mktemp("prog") / "run"
    return out, train(prog_cfg, out, quiet=True)


def _without_wall_time(rows):
    return [{k: v for k, v in r.items() if k != "wall_time"} for r in rows]


# ----------------------------------------------------------------------------- a completed run

def test_loss_falls_below_the_unigram_baseline_on_a_tiny_run(fixed_cfg, tmp_path):
    # 40 steps (the shared fixture) end at the unigram level, above or below it by the seed's
    # luck; 120 steps end 0.2-0.4 nats below it in each of seeds 0-2
    out = tmp_path / "run"
    summary = train(replace(fixed_cfg, steps=120), out, quiet=True)
    rows = read_metrics(out)
    first = sum(r["train_loss"] for r in rows[:5]) / 5
    last = sum(r["train_loss"] for r in rows[-5:]) / 5
    assert last < first - 1.0   # from ~ln 256 = 5.5 nats to the bytes' structure
    vals = [r["val_loss"] for r in rows if r["val_loss"] is not None]
    assert vals[-1] < vals[0]
    assert summary["unigram_xent_val"] is None or summary["final_val_loss"] < summary["unigram_xent_val"]


def test_run_dir_holds_config_provenance_metrics_summary_and_checkpoint(fixed_run, fixed_cfg):
    out, summary = fixed_run
    assert {p.name for p in out.iterdir()} >= {"config.json", "provenance.json", "metrics.csv",
                                                "summary.json", "summary.csv", "ckpt.pt"}
    saved = json.loads((out / "config.json").read_text())
    assert saved.pop("run_id") == run_id(fixed_cfg)
    assert from_dict(saved) == fixed_cfg
    prov = json.loads((out / "provenance.json").read_text())
    for key in ("git_sha", "git_dirty", "python", "torch", "numpy", "device", "hostname", "seed",
                "start_time", "argv"):
        assert key in prov
    assert prov["seed"] == fixed_cfg.seed and prov["device"] == "cpu"
    assert json.loads((out / "summary.json").read_text()) == summary
    with open(out / "summary.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 1 and rows[0]["status"] == summary["status"] == "completed"
    assert float(rows[0]["final_val_loss"]) == pytest.approx(summary["final_val_loss"])
    assert not list(out.glob("*.tmp"))


def test_metrics_has_one_row_per_step_with_the_documented_columns(fixed_run, fixed_cfg):
    out, _ = fixed_run
    with open(out / "metrics.csv", newline="") as f:
        assert tuple(csv.DictReader(f).fieldnames) == METRIC_COLUMNS
    rows = read_metrics(out)
    B, T = fixed_cfg.batch_size, fixed_cfg.model.block_size
    assert [r["step"] for r in rows] == list(range(fixed_cfg.steps))
    assert all(r["run_id"] == run_id(fixed_cfg) for r in rows)
    assert all(r["tokens"] == (r["step"] + 1) * B * T for r in rows)
    assert all(r["depth"] == fixed_cfg.model.n_layer for r in rows)
    assert all(b["flops"] > a["flops"] and b["wall_time"] >= a["wall_time"] for a, b in zip(rows, rows[1:]))
    evaluated = [r["step"] for r in rows if r["val_loss"] is not None]
    assert evaluated == [9, 19, 29, 39]   # every eval_every=10 steps, the last one included
    assert rows[-1]["lr"] < rows[len(rows) // 2]["lr"] == pytest.approx(fixed_cfg.lr)   # WSD decays


def test_summary_reports_status_losses_and_totals(fixed_run, fixed_cfg):
    out, s = fixed_run
    rows = read_metrics(out)
    assert s["status"] == "completed" and s["steps_done"] == fixed_cfg.steps
    assert s["final_val_loss"] == rows[-1]["val_loss"]
    assert s["best_val_loss"] == min(r["val_loss"] for r in rows if r["val_loss"] is not None)
    assert s["flops"] == rows[-1]["flops"] and s["tokens"] == rows[-1]["tokens"]
    assert s["wall_time"] == rows[-1]["wall_time"]
    assert "unigram_xent_val" in s


def test_cumulative_flops_are_the_exact_count_at_each_steps_depth(fixed_run, fixed_cfg):
    out, _ = fixed_run
    rows = read_metrics(out)
    per_step = flops_per_token(fixed_cfg.model, convention="exact") * fixed_cfg.batch_size * fixed_cfg.model.block_size
    assert rows[-1]["flops"] == pytest.approx(per_step * fixed_cfg.steps, rel=1e-12)
    assert rows[-1]["flops_6n"] == pytest.approx(
        flops_per_token(fixed_cfg.model, convention="6N") * fixed_cfg.batch_size * fixed_cfg.model.block_size
        * fixed_cfg.steps, rel=1e-12)


def test_resume_of_a_completed_run_returns_its_summary_without_training(fixed_run, fixed_cfg):
    out, summary = fixed_run
    before = (out / "metrics.csv").read_bytes()
    assert train(fixed_cfg, out, resume=True, quiet=True) == summary
    assert (out / "metrics.csv").read_bytes() == before


# ----------------------------------------------------------------------------- interruption and resume

@pytest.mark.parametrize("stop_after", [15, 25])
def test_resume_after_an_interruption_reproduces_the_uninterrupted_curve(fixed_run, fixed_cfg, tmp_path, stop_after):
    ref_dir, ref = fixed_run
    out = tmp_path / "run"
    s = train(fixed_cfg, out, quiet=True, stop_after=stop_after)
    assert s["status"] == "interrupted" and len(read_metrics(out)) == stop_after
    resumed = train(fixed_cfg, out, resume=True, quiet=True)
    assert resumed["status"] == "completed"
    assert _without_wall_time(read_metrics(out)) == _without_wall_time(read_metrics(ref_dir))
    assert resumed["final_val_loss"] == ref["final_val_loss"]
    prov = json.loads((out / "provenance.json").read_text())
    assert len(prov["resumes"]) == 1


def test_progressive_run_grows_at_tau_and_its_flops_per_step_switch_there(prog_run, prog_cfg):
    out, s = prog_run
    rows = read_metrics(out)
    (tau, target), = resolve_stages(prog_cfg)
    src = prog_cfg.growth.source_depth
    assert [r["depth"] for r in rows] == [src] * tau + [target] * (prog_cfg.steps - tau)
    tokens = prog_cfg.batch_size * prog_cfg.model.block_size
    steps = [b["flops"] - a["flops"] for a, b in zip(rows, rows[1:])]
    assert steps[tau - 2] == pytest.approx(flops_per_token(prog_cfg.model, src) * tokens, rel=1e-9)
    assert steps[tau - 1] == pytest.approx(flops_per_token(prog_cfg.model, target) * tokens, rel=1e-9)
    assert rows[tau - 1]["val_loss"] is not None   # the source's loss at tau is recorded
    assert s["status"] == "completed" and s["depth"] == target


@pytest.mark.parametrize("stop_after", [15, 25, 35], ids=["before-ckpt-at-tau", "ckpt-before-growth", "after-tau"])
def test_resume_of_a_progressive_run_reproduces_the_uninterrupted_curve(prog_run, prog_cfg, tmp_path, stop_after):
    ref_dir, _ = prog_run
    out = tmp_path / "run"
    train(prog_cfg, out, quiet=True, stop_after=stop_after)
    ckpt = torch.load(out / "ckpt.pt", weights_only=True)
    assert ckpt["counters"]["step"] == stop_after // prog_cfg.ckpt_every * prog_cfg.ckpt_every
    train(prog_cfg, out, resume=True, quiet=True)
    assert _without_wall_time(read_metrics(out)) == _without_wall_time(read_metrics(ref_dir))


def test_resume_inside_a_rewarmup_ramp_under_depth_mup_reproduces_the_uninterrupted_curve(prog_cfg, tmp_path):
    """Growth-aware groups (ramp groups for new blocks, multipliers at the new depth) survive
    a checkpoint taken two steps after tau."""
    cfg = override(prog_cfg, {"growth.rewarmup_steps": 5, "model.parametrization": "depth-mup",
                              "growth.init": "random_zero_out", "ckpt_every": 2})
    ref = train(cfg, tmp_path / "ref", quiet=True)
    train(cfg, tmp_path / "run", quiet=True, stop_after=23)   # tau = 20, last checkpoint at 22
    assert train(cfg, tmp_path / "run", resume=True, quiet=True)["final_val_loss"] == ref["final_val_loss"]
    assert (_without_wall_time(read_metrics(tmp_path / "run"))
            == _without_wall_time(read_metrics(tmp_path / "ref")))


def test_resume_inside_a_whole_model_rewarmup_reproduces_the_uninterrupted_curve(prog_cfg, tmp_path):
    cfg = override(prog_cfg, {"growth.rewarmup_steps": 5, "growth.rewarmup_scope": "all", "ckpt_every": 2})
    train(cfg, tmp_path / "ref", quiet=True)
    train(cfg, tmp_path / "run", quiet=True, stop_after=23)
    train(cfg, tmp_path / "run", resume=True, quiet=True)
    assert (_without_wall_time(read_metrics(tmp_path / "run"))
            == _without_wall_time(read_metrics(tmp_path / "ref")))


def test_resume_without_a_checkpoint_restarts_from_step_zero(fixed_run, fixed_cfg, tmp_path):
    ref_dir, _ = fixed_run
    out = tmp_path / "run"
    train(fixed_cfg, out, quiet=True, stop_after=5)   # before the first checkpoint
    assert not (out / "ckpt.pt").exists()
    train(fixed_cfg, out, resume=True, quiet=True)
    assert _without_wall_time(read_metrics(out)) == _without_wall_time(read_metrics(ref_dir))


def test_overwrite_replaces_the_old_run(fixed_cfg, tmp_path):
    out = tmp_path / "run"
    train(fixed_cfg, out, quiet=True, stop_after=3)
    s = train(override(fixed_cfg, {"steps": 20}), out, overwrite=True, quiet=True)
    assert s["status"] == "completed" and len(read_metrics(out)) == 20
    assert json.loads((out / "config.json").read_text())["steps"] == 20


def test_public_name_progtheory_train_runs_a_training_after_the_train_subpackage_is_imported(fixed_cfg, tmp_path):
    import progtheory
    import progtheory.train.loop  # noqa: F401  (importing the subpackage must not shadow the function)
    from progtheory import train as public
    from progtheory.train import loop

    assert progtheory.train is public is loop.train
    s = progtheory.train(fixed_cfg, tmp_path / "run", quiet=True, stop_after=2)
    assert s["status"] == "interrupted" and s["steps_done"] == 2


def test_progtheory_train_is_the_function_when_the_subpackage_is_imported_before_it():
    code = ("import sys\n"
            "import progtheory.train.run_lock\n"
            "from progtheory.train import loop, metrics\n"
            "import progtheory\n"
            "from progtheory import train\n"
            "assert train is progtheory.train is loop.train, train\n"
            "assert sys.modules['progtheory.train'].__path__ and metrics.read_metrics\n")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr


# ----------------------------------------------------------------------------- divergence

def test_a_nan_loss_stops_the_run_with_status_diverged(fixed_cfg, tmp_path, monkeypatch):
    forward = GPT.forward
    calls = {"n": 0}

    def poisoned(self, idx, targets=None):
        logits, loss = forward(self, idx, targets)
        if self.training:
            calls["n"] += 1
            if calls["n"] == 6:
                loss = loss * float("nan")
        return logits, loss

    monkeypatch.setattr(GPT, "forward", poisoned)
    out = tmp_path / "run"
    s = train(fixed_cfg, out, quiet=True)
    rows = read_metrics(out)
    assert s["status"] == "diverged" and s["steps_done"] == 6
    assert len(rows) == 6 and math.isnan(rows[-1]["train_loss"])
    assert json.loads((out / "summary.json").read_text())["status"] == "diverged"


def test_a_huge_learning_rate_diverges(fixed_cfg, tmp_path):
    cfg = replace(fixed_cfg, optimizer="sgd", lr=1e12, momentum=0.0)
    s = train(cfg, tmp_path / "run", quiet=True)
    assert s["status"] == "diverged" and s["steps_done"] < cfg.steps


def test_progressive_run_records_the_source_branch_statistics_at_each_growth_step(prog_run, prog_cfg):
    out, _ = prog_run
    (step, depth), = resolve_stages(prog_cfg)
    stats = json.loads((out / f"growth_stats_{step}.json").read_text())
    assert stats["step"] == step and stats["depth"] == prog_cfg.growth.source_depth
    assert math.isfinite(stats["loss"]) and math.isfinite(stats["fisher_trace"])
    assert math.isfinite(stats["loss_grown"]) and stats["loss_grown"] != stats["loss"]  # random blocks move it


def test_progressive_run_logs_the_update_statistics_at_tau_and_the_measured_jolt_of_the_first_updates(
        prog_run, prog_cfg):
    from progtheory.theory import compute
    from progtheory.train.probes import JOLT_STEPS

    out, _ = prog_run
    (step, depth), = resolve_stages(prog_cfg)
    stats = json.loads((out / f"growth_stats_{step}.json").read_text())
    u = stats["update"]
    new = compute.param_count(prog_cfg.model, depth) - compute.param_count(prog_cfg.model, prog_cfg.growth.source_depth)
    assert u["optimizer"] == prog_cfg.optimizer and u["count"] == new  # the new blocks' parameters, nothing else
    assert u["loss"] == pytest.approx(stats["loss_grown"], abs=1e-5)  # taken on the grown model, same batch
    assert math.isfinite(u["slope"]) and u["slope"] > 0 and u["curvature"] >= 0
    t = stats["update_train"]  # along the first update's own training batch: same curvature scale, other slope
    assert t["count"] == new and t["loss"] == pytest.approx(u["loss"]) and t["slope"] != u["slope"]
    assert len(stats["jolt_loss"]) == JOLT_STEPS and all(math.isfinite(x) for x in stats["jolt_loss"])
    with open(out / "metrics.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert stats["jolt_lr"] == pytest.approx([float(r["lr"]) for r in rows[step:step + JOLT_STEPS]])


def test_jolt_scores_predict_each_runs_jolt_from_its_own_update_statistics(prog_run, tmp_path):
    from progtheory import analysis as A
    from progtheory import sweep
    from progtheory.theory import jolt as J

    out, _ = prog_run
    recs = sweep._run_records(out, "r")
    for name in sweep.RECORD_FILES:
        (tmp_path / f"{name}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in recs[name]))
    scores = A.jolt_scores(tmp_path)
    stats = recs["growth_stats"][0]
    assert list(scores.k) == list(range(1, len(stats["jolt_loss"]) + 1))
    u = stats["update"]
    assert scores.predicted.to_numpy() == pytest.approx(J.jolt_curve(u["slope"], u["curvature"], stats["jolt_lr"],
                                                                     u["optimizer"]))
    assert scores.measured.iloc[0] == pytest.approx(stats["jolt_loss"][0] - stats["loss_grown"])
    t = stats["update_train"]
    assert scores.predicted_train.to_numpy() == pytest.approx(
        J.jolt_curve(t["slope"], max(t["curvature"], 0.0), stats["jolt_lr"], t["optimizer"]))
    assert scores.alignment.iloc[0] == pytest.approx(t["slope"] / u["slope"])
    (peak,) = A.jolt_peaks(scores).to_dict("records")  # one run
    assert peak["first_meas"] == scores.measured.iloc[0] and peak["peak_meas"] == scores.measured.max()
    assert peak["peak_line"] == scores.line.max() and peak["first_train"] == scores.predicted_train.iloc[0]
    assert A.jolt_scores(tmp_path / "nothing_here").empty


def test_expansion_change_scores_read_a_results_folder_and_predict_from_the_runs_own_statistics(
        prog_run, prog_cfg, tmp_path):
    from progtheory import analysis as A
    from progtheory import sweep
    from progtheory.theory import expansion as E
    from progtheory.theory import parametrization as P

    out, _ = prog_run
    recs = sweep._run_records(out, "r")
    for name in sweep.RECORD_FILES:
        (tmp_path / f"{name}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in recs[name]))
    (row,) = A.expansion_change_scores(tmp_path).to_dict("records")
    (step, depth), = resolve_stages(prog_cfg)
    stats, m = recs["growth_stats"][0], prog_cfg.model
    stds = E.fresh_block_stds(parametrization=m.parametrization, width=m.n_embd, base_width=m.base_width, depth=depth,
                              hidden_init=m.hidden_init, std=m.init_std)
    direct = E.expansion_loss_change("random", stats, target_depth=depth, fresh_stds=stds,
                                     multiplier=P.residual_multiplier(depth, m.base_depth,
                                                                      P.depth_alpha(m.parametrization, m.alpha)))
    assert (row["source"], row["target"], row["step"], row["init"]) == (prog_cfg.growth.source_depth, depth, step, "random")
    assert row["predicted"] == pytest.approx(direct["loss_change"], rel=1e-12)
    assert row["measured"] == pytest.approx(stats["loss_grown"] - stats["loss"])
    assert A.expansion_change_scores(tmp_path / "nothing_here").empty


def test_a_scaled_copy_records_the_statistics_of_its_scaled_blocks_and_is_predicted_from_them(prog_cfg, tmp_path):
    from progtheory import analysis as A
    from progtheory import sweep
    from progtheory.theory import expansion as E

    growth = replace(prog_cfg.growth, source_depth=1, init="copy", init_scale=0.25)
    train(replace(prog_cfg, growth=growth, steps=24), tmp_path / "run", quiet=True)
    recs = sweep._run_records(tmp_path / "run", "r")
    (stats,) = recs["growth_stats"]
    assert stats["copy_scale"] == 0.25
    for name in sweep.RECORD_FILES:
        (tmp_path / f"{name}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in recs[name]))
    (row,) = A.expansion_change_scores(tmp_path).to_dict("records")
    direct = E.expansion_loss_change("copy", stats, target_depth=prog_cfg.model.n_layer)
    assert row["init_scale"] == 0.25 and row["predicted"] == pytest.approx(direct["loss_change"], rel=1e-12)
    # statistics taken at another multiplier (an older run) cannot predict this copy: measured only
    (tmp_path / "growth_stats.jsonl").write_text(json.dumps({**recs["growth_stats"][0], "copy_scale": 1.0}) + "\n")
    (old,) = A.expansion_change_scores(tmp_path).to_dict("records")
    assert math.isnan(old["predicted"]) and old["measured"] == pytest.approx(row["measured"])



def test_a_noisy_copy_records_its_draws_spread_and_is_predicted_from_it(prog_cfg, tmp_path):
    from progtheory import analysis as A
    from progtheory import sweep

    growth = replace(prog_cfg.growth, source_depth=1, init="copy_noise", init_noise=0.5)
    cfg = replace(prog_cfg, growth=growth, steps=24)
    train(cfg, tmp_path / "run", quiet=True)
    recs = sweep._run_records(tmp_path / "run", "r")
    (stats,) = recs["growth_stats"]
    assert stats["noise_draws"] == 8 and stats["noise_fisher"] > 0 and stats["noise_gram"] > 0
    assert [-1, 1] in stats["pairs"]
    for name in sweep.RECORD_FILES:
        (tmp_path / f"{name}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in recs[name]))
    (row,) = A.expansion_change_scores(tmp_path).to_dict("records")
    assert math.isfinite(row["predicted"]) and row["init"] == "copy_noise"
    # a noisy copy recorded before the trainer measured its draws: measured only
    bare = {k: v for k, v in stats.items() if not k.startswith("noise_")}
    (tmp_path / "growth_stats.jsonl").write_text(json.dumps(bare) + "\n")
    (old,) = A.expansion_change_scores(tmp_path).to_dict("records")
    assert math.isnan(old["predicted"]) and old["measured"] == pytest.approx(row["measured"])



def test_the_grown_models_loss_on_the_statistics_batch_is_the_sources_under_a_function_preserving_init(
        prog_cfg, tmp_path):
    cfg = replace(prog_cfg, growth=replace(prog_cfg.growth, init="zero"), steps=20)
    train(cfg, tmp_path / "run", quiet=True)
    (path,) = (tmp_path / "run").glob("growth_stats_*.json")
    stats = json.loads(path.read_text())
    assert stats["loss_grown"] == pytest.approx(stats["loss"], abs=1e-5)
