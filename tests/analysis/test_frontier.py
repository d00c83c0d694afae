"""The fixed-size compute frontier and the efficiency table built on it (progtheory.analysis.frontier)."""

import numpy as np
import pandas as pd
import pytest

from progtheory.analysis import frontier as F


def _runs(recipe, run_ids, seeds, flops, losses):
    return pd.DataFrame(dict(run_id=run_ids, recipe=recipe, source=-1, seed=seeds, steps=100, flops=flops,
                             final_val_loss=losses))


def test_frontier_points_keep_each_finished_fixed_run_once_sorted_by_recipe_seed_and_flops():
    a = _runs("sp + AdamW", ["r1", "r2", "r3"], [0, 0, 1], [2e4, 1e4, 1e4], [2.0, 2.5, np.nan])
    b = pd.concat([_runs("completep + Muon-NSGD", ["r4"], [0], [1e4], [2.2]), a.iloc[:1],
                   a.iloc[:1].assign(run_id="p", source=0)])
    out = F.frontier_points(a, b)
    assert list(out.run_id) == ["r4", "r2", "r1"] and list(out.columns) == F.FRONTIER_COLUMNS
    assert F.frontier_points().empty and list(F.frontier_points().columns) == F.FRONTIER_COLUMNS


def test_efficiency_table_measures_each_recipe_against_its_own_frontier():
    C = np.array([1e3, 1e4, 1e5])
    frontier = pd.concat([_runs(r, [f"{r}{i}" for i in range(3)], 0, C, scale * 10 * C ** -0.1)
                          for r, scale in (("sp + AdamW", 1.0), ("completep + Muon-NSGD", 0.9))])
    loss = 10 * 1e4 ** -0.1
    table = pd.DataFrame(dict(run_id=["x", "y"], recipe=["sp + AdamW", "completep + Muon-NSGD"], seed=0,
                              final=[loss, 0.9 * loss], flops=[5e3, 5e3]))
    out = F.efficiency_table({"mixing": table, "budget": table.iloc[:1]}, frontier).set_index("run_id")
    assert list(out.index) == ["y", "x"] and (out.experiment == "mixing").all()  # one row per run
    assert out.efficiency.to_numpy() == pytest.approx([2.0, 2.0])
    untagged = F.efficiency_table({"mixing": table.drop(columns="recipe").iloc[:1]}, frontier)
    assert untagged.efficiency.iloc[0] == pytest.approx(2.0)  # no recipe column: sp + AdamW
    assert F.efficiency_table({"mixing": table}, frontier.iloc[:0]).empty
