"""The `progtheory` command line: help everywhere, train, demo, predict, bench, errors."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from progtheory.cli import build_parser, main

SUBCOMMANDS = ("train", "demo", "bench", "predict", "sweep", "plan", "figures")


def test_help_lists_every_subcommand(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert all(name in out for name in SUBCOMMANDS)


@pytest.mark.parametrize("command", SUBCOMMANDS)
def test_help_works_for_each_subcommand(command, capsys):
    with pytest.raises(SystemExit) as exit_:
        main([command, "--help"])
    assert exit_.value.code == 0
    assert f"progtheory {command}" in capsys.readouterr().out


def test_console_script_is_installed_and_answers_help():
    script = Path(sys.executable).parent / "progtheory"
    if not script.exists():
        pytest.skip(f"console script not installed next to {sys.executable}; pip install -e . creates it")
    res = subprocess.run([str(script), "--help"], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0 and "train" in res.stdout


def test_train_on_the_tiny_preset_produces_a_run_dir(corpus, tmp_path, capsys):
    out = tmp_path / "run"
    code = main(["train", "--preset", "tiny", "--corpus", str(corpus), "--out", str(out), "--quiet",
                 "--set", "steps=20"])
    assert code == 0
    assert {"config.json", "provenance.json", "metrics.csv", "summary.json", "ckpt.pt"} <= {p.name for p in out.iterdir()}
    assert json.loads((out / "config.json").read_text())["steps"] == 20
    assert "final val loss" in capsys.readouterr().out


def test_train_refuses_an_existing_run_dir_with_exit_code_2(corpus, tmp_path, capsys):
    out = tmp_path / "run"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    code = main(["train", "--preset", "tiny", "--corpus", str(corpus), "--out", str(out), "--quiet"])
    assert code == 2
    assert "--resume" in capsys.readouterr().err
    assert [p.name for p in out.iterdir()] == ["notes.txt"]


@pytest.mark.parametrize("setting, field", [("lr=-1", "lr"), ("model.n_layer=-2", "model.n_layer"),
                                            ("schedule.kind=triangle", "schedule.kind"), ("nonsense", "key=value")])
def test_bad_settings_exit_with_code_2_and_name_the_field(corpus, tmp_path, capsys, setting, field):
    out = tmp_path / "run"
    code = main(["train", "--preset", "tiny", "--corpus", str(corpus), "--out", str(out), "--set", setting])
    assert code == 2
    assert field in capsys.readouterr().err
    assert not out.exists()


def test_demo_trains_both_runs_prints_the_comparison_and_saves_a_figure(corpus, tmp_path, capsys):
    pytest.importorskip("matplotlib")
    out = tmp_path / "demo"
    code = main(["demo", "--preset", "tiny", "--corpus", str(corpus), "--out", str(out), "--quiet"])
    assert code == 0
    text = capsys.readouterr().out
    for phrase in ("final val loss", "relative gap", "margin at tau", "wall-time ratio", "FLOP ratio"):
        assert phrase in text
    assert (out / "demo.png").stat().st_size > 0
    report = json.loads((out / "demo.json").read_text())
    fixed = json.loads((out / "fixed" / "summary.json").read_text())
    prog = json.loads((out / "progressive" / "summary.json").read_text())
    assert report["relative_gap"] == pytest.approx(prog["final_val_loss"] / fixed["final_val_loss"] - 1)
    assert report["flop_ratio"] > 1   # the 0-layer phase is cheaper
    assert report["tau"] == round(0.8 * json.loads((out / "fixed" / "config.json").read_text())["steps"])


def test_predict_prints_one_row_per_depth(capsys):
    assert main(["predict", "--preset", "demo-progressive", "--depths", "0", "1", "4"]) == 0
    out = capsys.readouterr().out
    rows = [line.split() for line in out.splitlines() if line.split() and line.split()[0].isdigit()]
    assert [r[0] for r in rows] == ["0", "1", "4"]
    assert rows[0][-1] == "n/a"   # no hidden matrices at depth 0
    assert "savings" in out


def test_bench_quick_prints_throughput_against_the_matmul_peak(capsys, tmp_path):
    res_file = tmp_path / "bench.json"
    assert main(["bench", "--quick", "--steps", "1", "--warmup", "0", "--peak-sizes", "64",
                 "--device", "cpu", "--json", str(res_file)]) == 0
    out = capsys.readouterr().out
    assert "GFLOP/s" in out and "tok/s" in out
    res = json.loads(res_file.read_text())
    assert all(r["tokens_per_s"] > 0 and r["fraction_of_peak"] > 0 for r in res["rows"])


def test_sweep_of_an_unknown_experiment_exits_with_code_2_and_lists_the_known_ones(capsys):
    assert main(["sweep", "no_such_experiment"]) == 2
    assert "no_such_experiment" in capsys.readouterr().err


def test_parser_knows_exactly_the_working_subcommands():
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    assert tuple(sub.choices) == SUBCOMMANDS


def test_sigterm_stops_a_cli_run_as_interrupted_and_it_resumes(tmp_path):
    """A shutdown (SIGTERM) or a background job's SIGINT must stop a run cleanly, not kill it
    mid-write: the run is marked interrupted and `--resume` finishes it."""
    import json
    import os
    import signal
    import subprocess
    import sys
    import time

    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "progtheory.cli", "train", "--preset", "tiny", "--set", "steps=3000",
           "--set", "ckpt_every=50", "--out", str(out)]
    env = {**os.environ, "PROGTHEORY_CACHE": str(tmp_path / "cache"), "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 600  # generous: on a loaded machine the first checkpoint can take minutes
    while not (out / "ckpt.pt").exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.2)
    assert (out / "ckpt.pt").exists(), "the run wrote no checkpoint to interrupt"  # else the signal lands before the loop
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and "run the same command again to resume" in err
    assert json.loads((out / "summary.json").read_text())["status"] == "interrupted"
    done = subprocess.run(cmd + ["--resume"], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert json.loads((out / "summary.json").read_text())["status"] == "completed"
