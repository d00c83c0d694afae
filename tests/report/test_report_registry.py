"""Each prediction is declared once, in the registry: the docs table is generated from it, each
experiment's `predictions=` agrees with it, and each experiment's `theory=` names exist."""

import importlib
from pathlib import Path

import pytest

from progtheory import report, sweep
from progtheory.report import data
from progtheory.report.predictions import DOC, PREDICTIONS, with_doc_table

ROOT = Path(__file__).resolve().parents[2]
EXPERIMENTS = sorted(p.stem for p in (ROOT / "experiments").glob("*.py") if not p.stem.startswith("_"))


def _resolve(name: str):
    """The module, function or constant a `theory=` name points at ("theory.bounds.r_of_tau",
    "analysis.head_start.score_gap_model", "progtheory.predict_lr"): the longest importable module prefix, then
    attributes."""
    parts = (name if name.startswith("progtheory.") else f"progtheory.{name}").split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ModuleNotFoundError:
            continue
        for attr in parts[i:]:
            obj = getattr(obj, attr)
        return obj
    raise ModuleNotFoundError(name)


def test_the_registry_holds_every_prediction_once_in_order():
    assert list(PREDICTIONS) == [f"P{i}" for i in range(1, len(PREDICTIONS) + 1)]
    assert all(pid == p.pid for pid, p in PREDICTIONS.items())
    assert len({p.claim for p in PREDICTIONS.values()}) == len(PREDICTIONS)
    for p in PREDICTIONS.values():
        assert p.title and p.claim and p.expected and p.tolerance and p.source and p.experiments, p.pid
        assert len(set(p.experiments)) == len(p.experiments), p.pid


def test_every_experiment_the_registry_names_is_declared_in_experiments():
    named = {e for p in PREDICTIONS.values() for e in p.experiments}
    assert named <= set(EXPERIMENTS), f"no experiments/<name>.py for {sorted(named - set(EXPERIMENTS))}"


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_each_experiment_declares_exactly_the_predictions_the_registry_says_it_measures(name):
    declared = sweep.load_experiment(name, root=ROOT).predictions
    registry = {p.pid for p in PREDICTIONS.values() if name in p.experiments}
    assert set(declared) == registry, f"experiments/{name}.py declares {sorted(declared)}; the registry says {sorted(registry)}"
    assert list(declared) == [pid for pid in PREDICTIONS if pid in registry]  # in the registry's order


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_each_experiments_theory_names_resolve_to_what_the_package_holds(name):
    for theory in sweep.load_experiment(name, root=ROOT).theory:
        assert _resolve(theory) is not None, theory


def test_the_predictions_doc_table_is_the_one_the_registry_generates():
    text = DOC.read_text()
    assert with_doc_table(text) == text, "run `python -m progtheory.report` and commit docs/PREDICTIONS.md"
    assert text.count("\n| P") == len(PREDICTIONS)


def test_the_gap_model_arms_read_only_experiments_declared_for_p20():
    from progtheory.analysis import gap_model, head_start

    read = {e for arms in (gap_model.GROWN_ARMS, head_start.ARMS) for arm in arms.values() for e in arm.experiments}
    assert read <= set(PREDICTIONS["P20"].experiments)


def test_every_folder_a_recipes_records_read_is_the_results_folder_of_a_declared_experiment_or_arm():
    declared = {folder for name in EXPERIMENTS for folder, _ in sweep.parts(sweep.load_experiment(name, root=ROOT))}
    assert set(data.BY_RECIPE) <= set(EXPERIMENTS)
    for arms in data.RECIPE_ARMS.values():
        names = set(arms.grids.values()) | set(arms.frontier) | {arms.budget}
        assert names <= declared, names - declared
    assert data.RECIPE_ARMS[report.PAPER_RECIPE].grids == {"mixing": "mixing_recipe", "init_strategies": "init_recipe",
                                                          "frontier": "frontier_recipe"}
    assert data.companions("mixing") == ("mixing", "mixing_recipe") and data.companions("budget") == ("budget",)


def test_an_open_prediction_names_every_experiment_declared_to_measure_it(tmp_path):
    records = {r.pid: r for r in report.build_records(tmp_path)}
    assert [r.prediction for r in records.values()] == [p.claim for p in PREDICTIONS.values()]
    note = records["P2"].parts[0].note
    assert note.startswith("not yet measured") and all(f"experiments/{e}.py" in note for e in PREDICTIONS["P2"].experiments)
    assert records["P14"].recipe == report.PAPER_RECIPE  # P14 is the paper recipe's claim, even while open


def test_the_report_headings_are_the_registry_claims(tmp_path):
    text = report.render(report.build_records(tmp_path))
    for p in PREDICTIONS.values():
        assert f"## {p.pid}\n\n{p.claim}.\n" in text
