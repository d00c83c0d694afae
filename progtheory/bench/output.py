"""The benchmark's result files, written as it goes: every row reaches each file as soon as it is
measured, so a benchmark stopped by a time cap or a crash leaves every finished row behind.

  * JSON: the whole result (peaks, then the lists of rows), rewritten after each row into a
    temporary file that then replaces the old one, so the file is always a whole document.
  * CSV: one line per model row (fixed-depth and progressive, eager and compiled) in the
    columns of `CSV_COLUMNS`, appended and flushed; the optimizer rows are in the JSON only.
  * JSON lines: one self-contained line per row of any kind: "case" (the row's label),
    "kind" and the peaks, then the row.
"""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

KINDS = ("rows", "progressive_rows", "optimizer_rows")   # the result's lists of rows
CSV_KINDS = {"rows": "model", "progressive_rows": "progressive"}
CSV_COLUMNS = ("kind", "label", "mode", "params", "source_depth", "depth", "ms_per_step", "tokens_per_s",
               "gflops", "fraction_of_peak", "fraction_of_datasheet_peak", "ref_ms_per_step",
               "speed_vs_reference", "speed_lo", "speed_hi", "warmup_s", "source_ms_per_step", "startup_s",
               "grow_s", "recompile_s")


class BenchWriter:
    """Collects the benchmark's result and writes it to any of three files as it grows.

    `start(header)` opens a result with the peaks; `add(kind, row)` appends a row to the list
    `kind` (one of `KINDS`) and writes it out at once; `finish(extra)` adds the closing fields
    and returns the result.  With no paths it only collects.
    """

    def __init__(self, json_path: str | Path | None = None, csv_path: str | Path | None = None,
                 jsonl_path: str | Path | None = None):
        self.json_path = Path(json_path) if json_path else None
        self.csv_path = Path(csv_path) if csv_path else None
        self.jsonl_path = Path(jsonl_path) if jsonl_path else None
        self.result: dict = {}
        self._header: dict = {}

    def start(self, header: dict) -> None:
        """Begin the result with `header` (device and peaks) and empty lists of rows; the JSON
        file holds it at once, the CSV file its column names; the JSON-lines file is appended to
        (and created if missing)."""
        self._header = dict(header)
        self.result = {**header, **{kind: [] for kind in KINDS}}
        self._write_json()
        if self.csv_path:
            with open(self.csv_path, "w", newline="") as f:
                csv.writer(f).writerow(CSV_COLUMNS)
        if self.jsonl_path:
            self.jsonl_path.touch()

    def add(self, kind: str, row: dict) -> None:
        if kind not in KINDS:
            raise ValueError(f"kind={kind!r} is not a list of the result; choose one of {KINDS}")
        if not self.result:
            raise RuntimeError("BenchWriter.add before start: call start(header) first")
        self.result[kind].append(row)
        self._write_json()
        if self.csv_path and kind in CSV_KINDS:
            line = {"kind": CSV_KINDS[kind]} | row
            with open(self.csv_path, "a", newline="") as f:
                csv.writer(f).writerow(["" if line.get(c) is None else line[c] for c in CSV_COLUMNS])
        if self.jsonl_path:
            with open(self.jsonl_path, "a") as f:
                f.write(json.dumps({"case": row["label"], "kind": kind, **self._header, **row}, default=str) + "\n")

    def finish(self, extra: dict) -> dict:
        self.result.update(extra)
        self._write_json()
        return self.result

    def _write_json(self) -> None:
        if not self.json_path:
            return
        tmp = self.json_path.with_name(self.json_path.name + ".tmp")
        tmp.write_text(json.dumps(self.result, indent=2, default=str) + "\n")
        os.replace(tmp, self.json_path)
