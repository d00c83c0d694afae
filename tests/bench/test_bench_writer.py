"""The benchmark writes as it goes: every row reaches the JSON, CSV and JSON-lines files as soon
as it is measured, so a benchmark cut after k rows leaves exactly those k rows, each file valid."""

from __future__ import annotations

import csv
import json

import pytest

from progtheory import bench
from progtheory.bench import suite
from progtheory.cli import main


class Cut(Exception):
    """What a time cap does to the benchmark, mid-measurement."""


def _cut_after(monkeypatch, k: int) -> list[str]:
    """Fake the model and growth measurements so that the (k+1)-th one fails; return the labels
    measured before it."""
    done = []

    def measure(case, compile=False, **kw):
        if len(done) == k:
            raise Cut(f"stopped while measuring {case.label}")
        done.append(case.label)
        return {"label": case.label, "params": 1, "ms_per_step": 1.0, "tokens_per_s": 10.0, "gflops": 2.0,
                "flops_per_token": 1.0, "warmup_s": 0.0, "compile": compile, "mode": "eager",
                "ref_ms_per_step": 1.0, "speed_vs_reference": 1.0, "speed_lo": 1.0, "speed_hi": 1.0,
                "source_depth": 1, "depth": 2, "source_ms_per_step": 0.5, "grow_s": 0.0, "startup_s": 0.0,
                "first_steps_s": 1.0, "recompile_s": 0.0}

    monkeypatch.setattr(suite, "bench_model", measure)
    monkeypatch.setattr(suite, "bench_progressive", measure)
    return done


@pytest.mark.parametrize("k", [0, 1, 2, 3])
def test_a_benchmark_cut_after_k_rows_leaves_k_valid_rows_in_every_file(monkeypatch, tmp_path, k):
    done = _cut_after(monkeypatch, k)
    paths = {ext: tmp_path / f"bench.{ext}" for ext in ("json", "csv", "jsonl")}
    writer = bench.BenchWriter(json_path=paths["json"], csv_path=paths["csv"], jsonl_path=paths["jsonl"])
    grown = [bench.BenchCase("grown A", bench.quick_cases()[1].model, 4, depth=1),
             bench.BenchCase("grown B", bench.quick_cases()[1].model, 4, depth=1)]
    with pytest.raises(Cut):  # two fixed-depth cases, then two growing ones: the 4th measurement is cut at k=3
        bench.run(bench.quick_cases(), peak_sizes=(32,), grow_cases=grown, writer=writer, print_fn=lambda line: None)
    doc = json.loads(paths["json"].read_text())
    assert [r["label"] for r in doc["rows"] + doc["progressive_rows"]] == done and len(done) == k
    assert doc["peak_dtype"] == "fp32" and "predict_lr_us" not in doc  # the benchmark did not finish
    with open(paths["csv"], newline="") as f:
        lines = list(csv.DictReader(f))
    assert [line["label"] for line in lines] == done
    assert [line["kind"] for line in lines] == ["model", "model", "progressive"][:k]
    jsonl = [json.loads(line) for line in paths["jsonl"].read_text().splitlines()]
    assert [r["case"] for r in jsonl] == done and all(r["peak_dtype"] == "fp32" for r in jsonl)
    assert not list(tmp_path.glob("*.tmp"))


def test_the_json_file_holds_a_whole_document_after_each_row(tmp_path):
    path = tmp_path / "bench.json"
    writer = bench.BenchWriter(json_path=path)
    writer.start({"device": "cpu"})
    assert json.loads(path.read_text()) == {"device": "cpu", "rows": [], "progressive_rows": [], "optimizer_rows": []}
    for i in range(3):
        writer.add("optimizer_rows", {"label": f"r{i}"})
        assert [r["label"] for r in json.loads(path.read_text())["optimizer_rows"]] == [f"r{j}" for j in range(i + 1)]
    assert writer.finish({"predict_lr_us": {}}) == json.loads(path.read_text())


def test_the_writer_refuses_an_unknown_list_and_a_row_before_start():
    with pytest.raises(RuntimeError, match="start"):
        bench.BenchWriter().add("rows", {"label": "x"})
    writer = bench.BenchWriter()
    writer.start({})
    with pytest.raises(ValueError, match="kind='row'"):
        writer.add("row", {"label": "x"})


def test_bench_quick_writes_the_csv_and_json_it_was_given(capsys, tmp_path):
    paths = tmp_path / "bench.json", tmp_path / "bench.csv"
    assert main(["bench", "--quick", "--eager", "--steps", "1", "--warmup", "0", "--peak-sizes", "64",
                 "--device", "cpu", "--json", str(paths[0]), "--csv", str(paths[1])]) == 0
    assert "tok/s" in capsys.readouterr().out
    doc = json.loads(paths[0].read_text())
    with open(paths[1], newline="") as f:
        lines = list(csv.DictReader(f))
    assert [line["label"] for line in lines] == [r["label"] for r in doc["rows"]] == ["bytes d32 L0", "bytes d32 L2"]
    assert all(float(line["tokens_per_s"]) > 0 and line["fraction_of_datasheet_peak"] == "" for line in lines)
    assert doc["progressive_rows"] == [] and doc["optimizer_rows"]  # a CPU grows nothing unless asked
