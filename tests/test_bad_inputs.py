"""Every bad input is refused with a clear error that names the field, exits 2 on the command
line, and leaves the output folder as it was; a finite blow-up is a divergence."""

import json
import math
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from progtheory import presets
from progtheory import config as C
from progtheory.cli import main
from progtheory.config import ConfigError
from progtheory.theory import bounds, compute, init_scale, jolt, schedules, timing
from progtheory.train.checkpoint import checkpoint_interval
from progtheory.train.loop import train


def _snapshot(folder: Path) -> dict:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())} if folder.exists() else None


def _cli(args, capsys):
    code = main(args)
    err = capsys.readouterr().err.strip()
    return code, err


# ----------------------------------------------------------------------------- config values on the command line

BAD_SETS = [
    ("tiny", "lr=abc", "lr"),
    ("tiny", "lr=NaN", "lr"),
    ("tiny", "lr=Infinity", "lr"),
    ("tiny", "lr=-1", "lr"),
    ("tiny", "lr=0", "lr"),
    ("tiny", "model=5", "model"),
    ("tiny", "growth=5", "growth"),
    ("tiny", "data.corpus=null", "data.corpus"),
    ("tiny", "data.corpus=\"\"", "data.corpus"),
    ("tiny", "steps=1.5", "steps"),
    ("tiny", "steps=true", "steps"),
    ("tiny", "steps=0", "steps"),
    ("tiny", "model.n_layer=2.5", "model.n_layer"),
    ("tiny", "model.n_layer=-1", "model.n_layer"),
    ("tiny", "seed=-1", "seed"),
    ("tiny", "seed=1.5", "seed"),
    ("tiny", "batch_size=1000000000", "batch_size"),
    ("tiny", "batch_size=0", "batch_size"),
    ("tiny", "compile=1", "compile"),
    ("tiny", "device=tpu", "device"),
    ("tiny", "optimizer=adam", "optimizer"),
    ("tiny", "schedule.warmup=NaN", "schedule.warmup"),
    ("tiny", "schedule.warmup=1", "schedule.warmup"),
    ("tiny", "eval_every=0", "eval_every"),
    ("tiny", "ckpt_every=2.0", "ckpt_every"),
    ("tiny", "model.n_head=3", "model.n_head"),
    ("tiny", "data.val_fraction=1", "data.val_fraction"),
    ("tiny", "model.alpha=2", "model.alpha"),
    ("tiny", "beta1=1", "beta1"),
    ("tiny", "weight_decay=-1", "weight_decay"),
    ("tiny", "eps=0", "eps"),
    ("tiny", "nonsense", "key=value"),
    ("tiny", "foo=1", "foo"),
    ("tiny", "model.depth=3", "model.depth"),
    ("tiny", "data.tokenizer=words", "data.tokenizer"),
    ("tiny", "model.vocab_size=300", "model.vocab_size"),
    ("tiny-progressive", "growth.stages=5", "growth.stages"),
    ("tiny-progressive", "growth.stages=[5]", "growth.stages"),
    ("tiny-progressive", "growth.stages=[[1.5, 2]]", "tau=1.5"),
    ("tiny-progressive", "growth.stages=[[1.0, 2]]", "tau=1.0"),
    ("tiny-progressive", "growth.stages=[[20.0, 2]]", "tau=20.0"),
    ("tiny-progressive", "growth.stages=[[0.5, 2.5]]", "depth=2.5"),
    ("tiny-progressive", "growth.stages=[[\"half\", 2]]", "tau='half'"),
    ("tiny-progressive", "growth.stages=[[0.5, 2, 3]]", "growth.stages[0]"),
    ("tiny-progressive", "growth.init=grow_wide", "growth.init"),
    ("tiny-progressive", "growth.source_depth=2", "source"),
    ("tiny-progressive", "growth.rewarmup_steps=-1", "growth.rewarmup_steps"),
    ("tiny-progressive", "growth.allow_outside_stable=yes", "growth.allow_outside_stable"),
]


@pytest.mark.parametrize("preset, setting, field", BAD_SETS, ids=[s for _, s, _ in BAD_SETS])
def test_a_bad_setting_exits_2_with_one_line_naming_the_field_and_writes_nothing(preset, setting, field,
                                                                                 corpus, tmp_path, capsys):
    out = tmp_path / "run"
    corpus_args = [] if setting.startswith("data.corpus") else ["--corpus", str(corpus)]  # --corpus wins
    code, err = _cli(["train", "--preset", preset, *corpus_args, "--out", str(out), "--quiet",
                      "--set", setting], capsys)
    assert code == 2
    assert field in err and len(err.splitlines()) == 1 and "Traceback" not in err
    assert not out.exists()


def test_an_impossible_batch_is_refused_with_the_memory_estimate(corpus, tmp_path, capsys):
    code, err = _cli(["train", "--preset", "tiny", "--corpus", str(corpus), "--out", str(tmp_path / "run"),
                      "--set", "batch_size=1000000000"], capsys)
    assert code == 2 and "GiB" in err and "batch_size=1000000000" in err


def test_a_failed_start_leaves_the_folder_so_the_corrected_command_works_without_overwrite(corpus, tmp_path, capsys):
    out = tmp_path / "run"
    base = ["train", "--preset", "tiny", "--corpus", str(corpus), "--out", str(out), "--quiet"]
    assert _cli(base + ["--set", "steps=1.5"], capsys)[0] == 2
    assert not out.exists()
    assert main(base + ["--set", "steps=8"]) == 0


# ----------------------------------------------------------------------------- output folders

def test_an_out_folder_in_proc_is_refused(corpus, capsys):
    code, err = _cli(["train", "--preset", "tiny", "--corpus", str(corpus), "--out", "/proc/progtheory-run"], capsys)
    assert code == 2 and "/proc" in err


def test_an_out_folder_below_a_regular_file_is_refused_and_the_file_kept(corpus, tmp_path, capsys):
    blocker = tmp_path / "notes.txt"
    blocker.write_text("keep me")
    code, err = _cli(["train", "--preset", "tiny", "--corpus", str(corpus), "--out", str(blocker / "run")], capsys)
    assert code == 2 and "is a file" in err
    assert blocker.read_text() == "keep me"


def test_an_out_path_that_is_a_file_is_refused(corpus, tmp_path, capsys):
    blocker = tmp_path / "run"
    blocker.write_text("keep me")
    code, err = _cli(["train", "--preset", "tiny", "--corpus", str(corpus), "--out", str(blocker)], capsys)
    assert code == 2 and "not a directory" in err and blocker.read_text() == "keep me"


# ----------------------------------------------------------------------------- corrupt run files on --resume

@pytest.fixture(scope="module")
def interrupted_run(corpus, tmp_path_factory):
    """A tiny run stopped at step 15 (checkpoint at step 10), as `train --preset tiny` makes it."""
    cfg = C.validate(C.override(presets.tiny(), {"data.corpus": str(corpus)}))
    out = tmp_path_factory.mktemp("interrupted") / "run"
    train(cfg, out, quiet=True, stop_after=15)
    return out


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


CORRUPTIONS = {
    "truncated ckpt.pt": ("ckpt.pt", _truncate),
    "empty ckpt.pt": ("ckpt.pt", lambda p: p.write_bytes(b"")),
    "garbage row in metrics.csv": ("metrics.csv", lambda p: p.write_text(p.read_text() + "x,y,z\n")),
    "binary bytes in metrics.csv": ("metrics.csv", lambda p: p.write_bytes(p.read_bytes()[:200] + b"\x00\xff\xfe" * 30)),
    "truncated metrics.csv": ("metrics.csv", lambda p: p.write_text("\n".join(p.read_text().splitlines()[:4]) + "\n")),
    "corrupt config.json": ("config.json", lambda p: p.write_text("{not json")),
    "corrupt summary.json": ("summary.json", lambda p: p.write_text("[1, 2")),
    "corrupt provenance.json": ("provenance.json", lambda p: p.write_bytes(b"\x00\x01")),
}


@pytest.mark.parametrize("damage", CORRUPTIONS, ids=list(CORRUPTIONS))
def test_resume_names_a_corrupt_file_and_leaves_the_run_folder_untouched(damage, interrupted_run, corpus,
                                                                         tmp_path, capsys):
    out = tmp_path / "run"
    shutil.copytree(interrupted_run, out)
    name, corrupt = CORRUPTIONS[damage]
    corrupt(out / name)
    before = _snapshot(out)
    code, err = _cli(["train", "--preset", "tiny", "--corpus", str(corpus), "--out", str(out), "--quiet",
                      "--resume"], capsys)
    assert code == 2 and name in err and ("--overwrite" in err or "delete" in err)
    assert len(err.splitlines()) == 1
    assert _snapshot(out) == before   # no bogus resume entry in provenance.json


def test_a_resume_without_a_checkpoint_says_it_restarts_from_step_zero(corpus, tmp_path, capsys):
    cfg = C.validate(C.override(presets.tiny(), {"data.corpus": str(corpus)}))
    out = tmp_path / "run"
    train(cfg, out, quiet=True, stop_after=3)
    train(cfg, out, quiet=True, resume=True, stop_after=3)
    assert "restarts from step 0" in capsys.readouterr().err
    assert json.loads((out / "provenance.json").read_text())["resumes"][-1]["from_step"] == 0


# ----------------------------------------------------------------------------- checkpoints and divergence

def test_the_checkpoint_interval_is_capped_at_a_quarter_of_a_short_run():
    cfg = C.override(presets.tiny(), {"ckpt_every": 500})
    assert checkpoint_interval(cfg) == cfg.steps // 4
    assert checkpoint_interval(presets.default()) == presets.default().ckpt_every


def test_a_finite_blow_up_is_diverged_and_the_cli_exits_non_zero(corpus, tmp_path, capsys):
    out = tmp_path / "run"
    code = main(["train", "--preset", "tiny", "--corpus", str(corpus), "--out", str(out), "--quiet",
                 "--set", "lr=10"])
    summary = json.loads((out / "summary.json").read_text())
    assert code == 1 and summary["status"] == "diverged"
    assert math.isfinite(summary["final_val_loss"]) and "exceeds" in summary["diverged_reason"]
    assert "diverged" in capsys.readouterr().err


# ----------------------------------------------------------------------------- other subcommands

def test_bench_with_zero_steps_exits_2(capsys):
    code, err = _cli(["bench", "--steps", "0"], capsys)
    assert code == 2 and "--steps" in err


def test_sweep_only_matching_nothing_exits_2_naming_the_values(capsys):
    code, err = _cli(["sweep", "mixing", "--smoke", "--dry-run", "--only", "seed=99"], capsys)
    assert code == 2 and "seed" in err and "99" in err


def test_sweep_with_a_missing_experiments_folder_exits_2(tmp_path, capsys):
    code, err = _cli(["sweep", "mixing", "--experiments", str(tmp_path / "none")], capsys)
    assert code == 2 and "--experiments" in err


def test_sweep_finds_the_experiments_from_any_directory(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    code = main(["sweep", "mixing", "--smoke", "--dry-run", "--runs-root", str(tmp_path / "runs"),
                 "--results-root", str(tmp_path / "results")])
    assert code == 0 and "mixing" in capsys.readouterr().out


# ----------------------------------------------------------------------------- the config API

def test_validate_refuses_something_that_is_not_a_config():
    with pytest.raises(ConfigError, match="TrainConfig"):
        C.validate({"lr": 1e-3})


def test_from_dict_refuses_an_unknown_field_naming_it():
    with pytest.raises(ConfigError, match="colour"):
        C.from_dict({**C.to_dict(presets.tiny()), "colour": "red"})


def test_train_refuses_a_non_integer_stop_after(tmp_path):
    with pytest.raises(ConfigError, match="stop_after"):
        train(presets.tiny(), tmp_path / "run", stop_after=1.5)
    assert not (tmp_path / "run").exists()


# ----------------------------------------------------------------------------- the theory API

MODEL = presets.tiny().model
NAN, INF = float("nan"), float("inf")
THEORY = [
    ("schedules.wsd T str", lambda: schedules.wsd(0, "10"), "T"),
    ("schedules.wsd T float", lambda: schedules.wsd(0, 10.5), "T"),
    ("schedules.wsd T nan", lambda: schedules.wsd(0, NAN), "T"),
    ("schedules.wsd t nan", lambda: schedules.wsd(NAN, 10), "t"),
    ("schedules.cosine warmup nan", lambda: schedules.cosine(0, 10, warmup=NAN), "warmup"),
    ("schedules.linear final inf", lambda: schedules.linear(0, 10, final=INF), "final"),
    ("compute.param_count depth inf", lambda: compute.param_count(MODEL, INF), "depth"),
    ("compute.param_count depth str", lambda: compute.param_count(MODEL, "4"), "depth"),
    ("compute.flops_per_token depth -1", lambda: compute.flops_per_token(MODEL, -1), "depth"),
    ("compute.savings_6n nan", lambda: compute.savings_6n(NAN, 1, 2), "tau_frac"),
    ("compute.progressive_flops steps nan", lambda: compute.progressive_flops(MODEL, 0, [(5, 2)], NAN), "total_steps"),
    ("bounds.schedule_values T nan", lambda: bounds.schedule_values(NAN), "T"),
    ("bounds.area_fraction u nan", lambda: bounds.area_fraction(NAN), "u"),
    ("bounds.area_fraction warmup nan", lambda: bounds.area_fraction(0.5, warmup=NAN), "warmup"),
    ("bounds.last_iterate_bound D nan", lambda: bounds.last_iterate_bound(np.ones(10), NAN, 1.0), "D"),
    ("bounds.last_iterate_bound G -1", lambda: bounds.last_iterate_bound(np.ones(10), 1.0, -1.0), "G"),
    ("bounds.averaged_iterate_bound etas nan", lambda: bounds.averaged_iterate_bound([NAN, 1.0], 1.0, 1.0), "etas"),
    ("bounds.progressive_gap loss_gap nan", lambda: bounds.progressive_gap(0.5, NAN, 1.0, 1.0, 10.0), "loss_gap"),
    ("timing.stable_phase T 0", lambda: timing.stable_phase(0), "T"),
    ("timing.latest_tau t_mix nan", lambda: timing.latest_tau(100, NAN), "t_mix"),
    ("timing.latest_tau t_mix -1", lambda: timing.latest_tau(100, -1), "t_mix"),
    ("timing.mixing_time eps nan", lambda: timing.mixing_time([1, 2, 3], [1, 1, 1], [1, 2, 3], [1, 1, 1], 1, eps=NAN), "eps"),
    ("timing.relative_gap loss nan", lambda: timing.relative_gap([1, 2, 3], [NAN, 1, 1], [1, 2, 3], [1, 1, 1], 1), "loss"),
    ("init_scale.spectral_std fan_out nan", lambda: init_scale.spectral_std(NAN, 4), "fan_out"),
    ("init_scale.spectral_std fan_out str", lambda: init_scale.spectral_std("4", 4), "fan_out"),
    ("init_scale.spectral_std scale nan", lambda: init_scale.spectral_std(4, 4, scale=NAN), "scale"),
    ("init_scale.gaussian_spectral_norm std -1", lambda: init_scale.gaussian_spectral_norm(-1.0, 4, 4), "std"),
    ("init_scale.gelu_second_moment var inf", lambda: init_scale.gelu_second_moment(INF), "var"),
    ("jolt.adam_first_step_move lr nan", lambda: jolt.adam_first_step_move(NAN), "lr"),
    ("jolt.adam_first_step_move beta1 2", lambda: jolt.adam_first_step_move(1e-3, beta1=2.0), "beta1"),
    ("jolt.safe_new_param_lr ratio -1", lambda: jolt.safe_new_param_lr(0.02, 4, 4, max_spectral_ratio=-1.0), "max_spectral_ratio"),
    ("jolt.rewarmup_steps lr nan", lambda: jolt.rewarmup_steps(NAN, 1e-3), "lr"),
    ("jolt.rewarmup_factor ramp 1.5", lambda: jolt.rewarmup_factor(1, 1.5), "ramp_steps"),
]


@pytest.mark.parametrize("call, field", [(c, f) for _, c, f in THEORY], ids=[n for n, _, _ in THEORY])
def test_a_theory_function_refuses_a_bad_argument_with_a_value_error_naming_it(call, field):
    with pytest.raises(ValueError, match=field):
        call()


def test_the_gpt2_tokenizer_without_its_extra_exits_2_naming_the_install(corpus, tmp_path, capsys):
    try:
        import tiktoken  # noqa: F401
        pytest.skip("tiktoken is installed, so the gpt2 extra is present")
    except ImportError:
        pass
    out = tmp_path / "run"
    code, err = _cli(["train", "--preset", "tiny", "--corpus", str(corpus), "--out", str(out),
                      "--set", "data.tokenizer=gpt2", "--set", "model.vocab_size=50257"], capsys)
    assert code == 2 and "data.tokenizer" in err and "progtheory[gpt2]" in err
    assert not out.exists()


SWEEP_WITH_A_BLOW_UP = '''
from progtheory import presets
from progtheory.config import override
from progtheory.sweep import Experiment, Run

def runs(smoke):
    base = override(presets.tiny({corpus!r}), {{"steps": 12, "eval_every": 4}})
    return [Run({{"lr": lr}}, override(base, {{"lr": lr}})) for lr in (10.0, 0.01)]

EXPERIMENT = Experiment(name="blowup", question="does a sweep go on after a divergence?",
                        predictions=(), theory=(), runs=runs, scientific=("lr",))
'''


def test_a_sweep_records_a_diverged_run_and_goes_on(corpus, tmp_path, capsys):
    (tmp_path / "experiments").mkdir()
    (tmp_path / "experiments" / "blowup.py").write_text(SWEEP_WITH_A_BLOW_UP.format(corpus=str(corpus)))
    code = main(["sweep", "blowup", "--experiments", str(tmp_path / "experiments"), "--quiet",
                 "--runs-root", str(tmp_path / "runs"), "--results-root", str(tmp_path / "results")])
    assert code == 0
    rows = (tmp_path / "results" / "blowup" / "runs.csv").read_text()
    assert "diverged" in rows and "completed" in rows


# ----------------------------------------------------------------------------- refused before any work, writing nothing

def _tree(root: Path) -> dict:
    """Every path below `root` with its bytes (None for a folder)."""
    return {str(p.relative_to(root)): None if p.is_dir() else p.read_bytes() for p in sorted(root.rglob("*"))}


def _refused(args, capsys, root: Path, *named) -> str:
    """Run the CLI; assert exit 2, one line of stderr naming each of `named`, and `root` unchanged."""
    before = _tree(root)
    code, err = _cli(args, capsys)
    assert code == 2, err
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    assert all(n in err for n in named), (named, err)
    assert _tree(root) == before
    return err


@pytest.fixture(scope="module")
def finished_run(corpus, tmp_path_factory):
    """A completed tiny run, as `train --preset tiny` makes it."""
    cfg = C.validate(C.override(presets.tiny(), {"data.corpus": str(corpus)}))
    out = tmp_path_factory.mktemp("finished") / "run"
    train(cfg, out, quiet=True)
    return out


@pytest.fixture(scope="module")
def short_pilots(corpus, tmp_path_factory):
    """A fixed and a progressive tiny run: 40 steps, too short for the gap model's fit."""
    root = tmp_path_factory.mktemp("pilots")
    for name, progressive in (("fixed", False), ("prog", True)):
        train(C.validate(C.override(presets.tiny(progressive=progressive), {"data.corpus": str(corpus)})),
              root / name, quiet=True)
    return root / "fixed", root / "prog"


def test_sweep_of_an_experiment_file_with_a_syntax_error_names_the_file_and_line(tmp_path, capsys):
    broken = tmp_path / "broken.py"
    broken.write_text("from progtheory.sweep import Experiment\nEXPERIMENT = Experiment(\n")
    _refused(["sweep", str(broken), "--runs-root", str(tmp_path / "runs"), "--results-root",
              str(tmp_path / "results")], capsys, tmp_path, "broken.py", "line 2")


@pytest.mark.parametrize("flag", ["--runs-root", "--results-root"])
@pytest.mark.parametrize("dry_run", [True, False], ids=["dry-run", "run"])
def test_sweep_roots_below_a_regular_file_are_refused_before_any_run(flag, dry_run, tmp_path, capsys):
    blocker = tmp_path / "notes.txt"
    blocker.write_text("keep me")
    roots = {"--runs-root": str(tmp_path / "runs"), "--results-root": str(tmp_path / "results"),
             flag: str(blocker / "x")}
    _refused(["sweep", "mixing", "--smoke", "--quiet", *(["--dry-run"] if dry_run else []),
              *[a for kv in roots.items() for a in kv]], capsys, tmp_path, flag, str(blocker), "is a file")


def test_plan_on_a_damaged_config_names_the_file(short_pilots, tmp_path, capsys):
    fixed, prog = (Path(shutil.copytree(p, tmp_path / p.name)) for p in short_pilots)
    (fixed / "config.json").write_text("{not json")
    _refused(["plan", str(fixed), str(prog)], capsys, tmp_path, str(fixed / "config.json"))


def test_plan_on_pilots_too_short_says_how_many_evaluations_it_needs(short_pilots, capsys):
    fixed, prog = short_pilots
    err = _refused(["plan", str(fixed), str(prog)], capsys, fixed.parent, str(fixed), "8 evaluations")
    assert "eval_every" in err and "steps" in err


BAD_PLAN_ARGS = [
    (["--eps", "-1"], "--eps"),
    (["--eps", "nan"], "--eps nan"),
    (["--eps", "inf"], "--eps inf"),
    (["--taus", "1.5", "-0.2"], "1.5"),
    (["--taus", "0.5", "nan"], "nan"),
    (["--budgets", "0", "-1"], "-1"),
    (["--budgets", "inf"], "inf"),
]


@pytest.mark.parametrize("flags, named", BAD_PLAN_ARGS, ids=[" ".join(f) for f, _ in BAD_PLAN_ARGS])
def test_plan_refuses_a_bad_grid_argument_naming_it(flags, named, short_pilots, capsys):
    fixed, prog = short_pilots
    _refused(["plan", str(fixed), str(prog), *flags], capsys, fixed.parent, flags[0], named)


def test_bench_json_below_a_regular_file_is_refused_before_the_benchmark(tmp_path, capsys):
    blocker = tmp_path / "notes.txt"
    blocker.write_text("keep me")
    _refused(["bench", "--quick", "--steps", "1", "--warmup", "0", "--peak-sizes", "64", "--json",
              str(blocker / "bench.json")], capsys, tmp_path, "--json", str(blocker))


@pytest.mark.parametrize("flag", ["--corpus", "--out"])
def test_an_empty_corpus_or_out_is_refused(flag, corpus, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # an empty --out would otherwise write runs/ here
    args = {"--corpus": str(corpus), "--out": str(tmp_path / "run"), flag: ""}
    _refused(["train", "--preset", "tiny", "--quiet", *[a for kv in args.items() for a in kv]], capsys,
             tmp_path, f"{flag} ''")


def test_int32_token_files_are_refused_with_the_fix(tmp_path, capsys):
    rng = np.random.default_rng(0)
    (tmp_path / "tokens").mkdir()
    for name, n in (("train.bin", 4000), ("val.bin", 600)):
        rng.integers(1, 200, n).astype(np.int32).tofile(tmp_path / "tokens" / name)
    _refused(["train", "--preset", "tiny", "--quiet", "--corpus", str(tmp_path / "tokens"), "--out",
              str(tmp_path / "run")], capsys, tmp_path, "train.bin", "int32", "np.uint16")


def test_resume_of_a_folder_that_does_not_exist_is_refused(corpus, tmp_path, capsys):
    out = tmp_path / "run"
    _refused(["train", "--preset", "tiny", "--corpus", str(corpus), "--out", str(out), "--quiet", "--resume"],
             capsys, tmp_path, str(out), "nothing to resume")


def test_resume_after_config_json_was_edited_names_the_changed_fields(interrupted_run, corpus, tmp_path, capsys):
    out = Path(shutil.copytree(interrupted_run, tmp_path / "run"))
    stored = json.loads((out / "config.json").read_text())
    stored["lr"] *= 2
    stored["model"]["n_layer"] = 3
    (out / "config.json").write_text(json.dumps(stored))
    _refused(["train", "--preset", "tiny", "--corpus", str(corpus), "--out", str(out), "--quiet", "--resume"],
             capsys, tmp_path, "config.json", "lr", "model.n_layer")


def test_resume_with_the_run_id_removed_from_config_json_says_how_to_restore_it(interrupted_run, corpus,
                                                                                tmp_path, capsys):
    out = Path(shutil.copytree(interrupted_run, tmp_path / "run"))
    stored = json.loads((out / "config.json").read_text())
    rid = stored.pop("run_id")
    (out / "config.json").write_text(json.dumps(stored))
    err = _refused(["train", "--preset", "tiny", "--corpus", str(corpus), "--out", str(out), "--quiet",
                    "--resume"], capsys, tmp_path, "config.json", "run_id", rid)
    assert "same config" not in err


def test_resume_of_a_finished_run_with_a_damaged_checkpoint_names_it(finished_run, corpus, tmp_path, capsys):
    out = Path(shutil.copytree(finished_run, tmp_path / "run"))
    _truncate(out / "ckpt.pt")
    _refused(["train", "--preset", "tiny", "--corpus", str(corpus), "--out", str(out), "--quiet", "--resume"],
             capsys, tmp_path, str(out / "ckpt.pt"))


def test_demo_over_the_folder_of_a_train_run_is_refused(finished_run, corpus, tmp_path, capsys):
    out = Path(shutil.copytree(finished_run, tmp_path / "run"))
    _refused(["demo", "--preset", "tiny", "--corpus", str(corpus), "--out", str(out), "--quiet"],
             capsys, tmp_path, str(out), "config.json")


def test_demo_resume_of_a_folder_that_does_not_exist_is_refused(corpus, tmp_path, capsys):
    out = tmp_path / "demo"
    _refused(["demo", "--preset", "tiny", "--corpus", str(corpus), "--out", str(out), "--quiet", "--resume"],
             capsys, tmp_path, str(out), "nothing to resume")


def test_a_growth_setting_without_stages_says_the_default_stages_are_used(corpus, tmp_path, capsys):
    _refused(["train", "--preset", "tiny", "--corpus", str(corpus), "--out", str(tmp_path / "run"),
              "--set", "growth.source_depth=1"], capsys, tmp_path, "default growth stages", "[[0.8, 4]]",
             "growth.stages")


def test_a_writable_tmpfs_under_dev_is_accepted_and_other_dev_paths_are_not(capsys):
    from progtheory.train.run_dir import check_out_dir

    if not (Path("/dev/shm").is_dir() and os.access("/dev/shm", os.W_OK)):
        pytest.skip("no writable /dev/shm here")
    check_out_dir("/dev/shm/progtheory-run")   # writes nothing
    assert not Path("/dev/shm/progtheory-run").exists()
    with pytest.raises(ConfigError, match="/dev"):
        check_out_dir("/dev/progtheory-run")


@pytest.mark.parametrize("shard", ["-1/2", "2/2", "0/0", "a/b"])
def test_a_bad_shard_gets_a_range_message_not_an_argparse_error(shard, tmp_path, capsys):
    _refused(["sweep", "mixing", "--smoke", "--dry-run", "--runs-root", str(tmp_path / "runs"),
              "--shard", shard], capsys, tmp_path, f"--shard {shard!r}", "e.g. 0/2")


def test_predict_results_that_is_a_file_says_it_is_not_a_folder(tmp_path, capsys):
    table = tmp_path / "notes.txt"
    table.write_text("keep me")
    _refused(["predict", "--preset", "tiny", "--results", str(table)], capsys, tmp_path, str(table),
             "is a file, not a folder")


@pytest.mark.parametrize("flag", ["--depths", "--base-depth"])
def test_predict_refuses_depths_beyond_the_bound(flag, tmp_path, capsys):
    _refused(["predict", "--preset", "tiny", flag, "100000000"], capsys, tmp_path, flag, "100000000", "10000")
