"""The validation report (VALIDATION.md): one record per prediction and recipe, built from the
committed results only, judged by one rule and rendered as a summary table followed by one
section per prediction.

A record holds the prediction's parts, each with the conditions that decide it (measured
value, 95% interval, n, tolerance band), the recipe of the runs (parametrization + optimizer,
read from each run's config), the figure and the data.  Verdicts are computed from the
conditions, never written by hand; a prediction with no results yet is "open" and names the
experiments declared to measure it.

Modules: `rule` (conditions, parts, records and the decision rule; imports nothing of the
package), `conditions` (the conditions most predictions share), `data` (the results each record
reads, per recipe), the sections by topic (`compute`: P1; `mixing`: P2, P6-P9, P15, P16, P18;
`init`: P3-P5, P13, P17, P22; `source_depth`: P10-P12; `lr`: P14, P21; `budget`: P2's budget
lines, P19, P20; `jolt`: P23), `predictions` (the registry, each prediction declared once with
the function that builds its records), `build` (every record, from the registry) and `render`
(Markdown, VALIDATION.md).  It may import `analysis`, `config`, `presets`, `train.freshness`
and `theory` (no torch); above it sit only `figures` and `cli`.
"""

from progtheory.report import budget, data, init, mixing, source_depth
from progtheory.report.budget import efficiency_table, frontier_table
from progtheory.report.build import build_records
from progtheory.report.data import PAPER_RECIPE, tuned_baseline_lr
from progtheory.report.predictions import PREDICTIONS
from progtheory.report.render import render, summary_frame, write_report

__all__ = ["PAPER_RECIPE", "PREDICTIONS", "build_records", "efficiency_table", "frontier_table", "render",
           "summary_frame", "tuned_baseline_lr", "write_report"]

# Names tests/test_experiments.py calls: the loaders whose caches it clears and the builders it checks.
_load, _table = data.load, data.gap_table
_budget_lines = budget.budget_lines
_init_at = init.records_at
_source_depth_records = source_depth.records
_recipe_record = mixing.recipe_record
_change_part = init.change_part
