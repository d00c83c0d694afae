"""Block dominance from ablation costs (progtheory.analysis.ablation)."""

import pandas as pd
import pytest

from progtheory.analysis import ablation as AB


def test_dominance_is_block_zeros_cost_over_the_others_mean():
    t = pd.DataFrame({"ablation_0": [4.0, 1.0], "ablation_1": [1.0, 1.0], "ablation_2": [3.0, 1.0],
                      "ablation_10": [2.0, 1.0]})
    assert list(AB.dominance(t)) == [pytest.approx(2.0), pytest.approx(1.0)]
    with pytest.raises(ValueError, match="at least two blocks"):
        AB.dominance(t[["ablation_0"]])


def test_the_dominance_table_joins_a_folders_runs_and_its_ablation(tmp_path):
    assert AB.dominance_table(tmp_path).empty
    pd.DataFrame({"run_id": ["a", "b"], "source": [-1, 1]}).to_csv(tmp_path / "runs.csv", index=False)
    pd.DataFrame({"run_id": ["b"], "step": [10], "loss": [1.5], "recorded": [1.5], "ablation_0": [9.0],
                  "ablation_1": [0.5], "ablation_2": [1.5]}).to_csv(tmp_path / AB.ABLATION, index=False)
    (row,) = AB.dominance_table(tmp_path).itertuples()
    assert row.run_id == "b" and row.source == 1 and row.dominance == pytest.approx(9.0)
