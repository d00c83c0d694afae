"""An experiment's arms read as one table (progtheory.analysis.results.load_arms): each arm from
the results folder its declaration names, stacked in the declared order, each run keeping its
recipe."""

from pathlib import Path

import pandas as pd
import pytest

from progtheory import analysis as A

RESULTS = Path(__file__).resolve().parents[2] / "experiments" / "results"


def test_the_arms_of_an_experiment_are_the_results_folders_its_declaration_names():
    assert A.arms_of("mixing") == {"sp-adamw": "mixing", "recipe": "mixing_recipe"}
    assert A.arm_folders("budget") == ("budget", "budget_small")
    assert A.arm_folders("budget", "recipe-d64") == ("budget_small",)
    assert A.arm_folders("ladder", "recipe-d32") == ("ladder",)  # no arms: read whole
    assert A.arm_folders("frontier_recipe") == ("frontier_recipe",)  # a results folder is read as it is
    assert A.experiment_folders(("mixing", "frontier", "ladder"), "recipe") == ("mixing_recipe", "frontier_recipe",
                                                                              "ladder")
    with pytest.raises(ValueError, match="has no arm recipe=recipe"):
        A.arm_folders("budget", ("recipe",))


def test_load_arms_stacks_the_arms_in_the_declared_order_and_keeps_each_runs_recipe():
    if not (RESULTS / "init_recipe" / "runs.csv").is_file():
        pytest.skip("no committed results in this checkout")
    runs, metrics = A.load_arms("init_strategies", RESULTS)
    parts = [A.load_results(f, RESULTS) for f in ("init_strategies", "init_recipe")]
    pd.testing.assert_frame_equal(runs, pd.concat([p[0] for p in parts], ignore_index=True))
    assert len(metrics) == sum(len(p[1]) for p in parts)
    assert list(runs.recipe.unique()) == [A.DEFAULT_RECIPE, "completep + Muon-NSGD"]
    one, _ = A.load_arms("init_strategies", RESULTS, "recipe")
    pd.testing.assert_frame_equal(one, parts[1][0])


def test_load_arms_without_results_names_the_sweep_of_the_missing_arm(tmp_path):
    with pytest.raises(FileNotFoundError, match="progtheory sweep mixing --only recipe=recipe"):
        A.load_arms("mixing", tmp_path, ("recipe",))
