"""Every record of the report, built from the registry: one entry's builder per prediction,
an open record where it has no results yet, and a line beside each verdict whose data today's
code no longer reproduces."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from progtheory import analysis as A
from progtheory.train.freshness import stale_mark
from progtheory.report import data, init, lr
from progtheory.report.predictions import PREDICTIONS, Prediction
from progtheory.report.rule import Part, Record

STALE = "(experiment.json: stale)"
CACHED = (data.load, data.gap_table, lr.cpu_fits, init.expansion_changes)  # read from the results root


def build_records(root: Path | str) -> list[Record]:
    """Every record the committed results in `root` support, one per (prediction, recipe),
    in prediction order; a prediction without results is an open record naming its experiments."""
    root = str(Path(root))
    for cached in CACHED:
        cached.cache_clear()  # results may have changed since the last build
    records = [r for entry in PREDICTIONS.values() for r in _entry_records(entry, root)]
    return [replace(r, detail=_stale_notes(r, root) + tuple(r.detail)) for r in records]


def _entry_records(entry: Prediction, root: str) -> list[Record]:
    """The records of one prediction, by recipe, each with the registry's claim; an open one
    (no parts) gets the part naming the experiments declared to measure it."""
    records = entry.build(root) or [Record(entry.pid, recipe=A.DEFAULT_RECIPE)]
    if any(r.pid != entry.pid for r in records):
        raise ValueError(f"the builder of {entry.pid} returned records of {sorted({r.pid for r in records})}")
    records = [replace(r, prediction=entry.claim, parts=r.parts or (Part(entry.claim, note=entry.open_note),))
               for r in records]
    return sorted(records, key=lambda r: r.recipe)


def _stale_notes(r: Record, root: str) -> tuple[str, ...]:
    """A line per results folder named in `r.source` that its experiment.json marks stale
    (`progtheory.train.freshness`: today's code no longer reproduces its runs) and whose stale runs
    are of `r`'s recipe (the mark's "recipes", else every recipe the folder holds)."""
    out = []
    for path in filter(None, r.source.split(", ")):
        folder = Path(root) / Path(path).name
        m = stale_mark(folder)
        recipes = set(m.get("recipes") or A.run_recipes(folder / "provenance.jsonl").values()) if m else set()
        if m and (not recipes or r.recipe.split(",")[0] in recipes):
            out.append(f"data from `{path}` was produced by {m['produced_by']} and differs from today's code by "
                       f"{m['max_abs_diff']:.2g} nats of train loss in its first steps, since {m['since']} {STALE}")
    return tuple(out)
