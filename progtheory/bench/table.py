"""The benchmark's printed tables: the fixed-depth models and the growing ones, one line per row.

On CUDA the model table gains a "mode" column (eager or compiled) and "MFU sheet", the MFU
against the GPU's datasheet peak; on a CPU it keeps its columns.
"""

from __future__ import annotations

from progtheory.bench.peaks import format_fraction
from progtheory.bench.timing import format_interval


def model_header(cuda: bool) -> str:
    mode, sheet = (f" {'mode':<8}", f" {'MFU sheet':>9}") if cuda else ("", "")
    return (f"{'model':<16}{mode} {'params':>11} {'ms/step':>9} {'tok/s':>10} {'GFLOP/s':>9} {'MFU':>6}{sheet} "
            f"{'ref ms':>9} {'vs ref':>7} {'95% interval':>16}")


def model_line(r: dict, cuda: bool) -> str:
    mode = f" {r['mode']:<8}" if cuda else ""
    sheet = f" {format_fraction(r['fraction_of_datasheet_peak']):>9}" if cuda else ""
    return (f"{r['label']:<16}{mode} {r['params']:>11,} {r['ms_per_step']:>9.1f} {r['tokens_per_s']:>10,.0f} "
            f"{r['gflops']:>9.1f} {r['fraction_of_peak']:>6.1%}{sheet} {r['ref_ms_per_step']:>9.1f} "
            f"{r['speed_vs_reference']:>6.2f}x {format_interval(r['speed_lo'], r['speed_hi']):>16}")


def model_notes(rows: list[dict], peak: float, peak_dtype: str, sheet: str | None) -> list[str]:
    """The lines under the model table: what its columns count, the datasheet peak when `sheet`
    (a line naming it) is given, and the compile time of the compiled rows."""
    lines = ["GFLOP/s counts every matmul (attention scores and head included), fwd + bwd; "
             f"MFU is relative to the best {peak_dtype} matmul above ({peak:.1f} GFLOP/s).  'vs ref' is the "
             "speed of the core relative to bench.ReferenceGPT of the same shape, timed in the same "
             "loop (median step times; > 1: the core is faster), with a bootstrap interval over the "
             "interleaved step pairs."]
    if sheet:
        lines.append(f"MFU sheet is relative to {sheet}.")
    compiled = [r for r in rows if r["compile"]]
    if compiled:
        lines.append("compile time, counted in the warmup steps of both models: " +
                     ", ".join(f"{r['label']} {r['warmup_s']:.1f} s" for r in compiled))
    return lines


def progressive_header() -> str:
    return (f"{'grown model':<16} {'mode':<8} {'depth':>6} {'src ms':>8} {'ms/step':>9} {'tok/s':>10} "
            f"{'GFLOP/s':>9} {'MFU':>6} {'MFU sheet':>9} {'startup s':>10} {'grow s':>7} {'recompile s':>12}")


def progressive_line(r: dict) -> str:
    depths = f"{r['source_depth']}->{r['depth']}"
    return (f"{r['label']:<16} {r['mode']:<8} {depths:>6} {r['source_ms_per_step']:>8.1f} {r['ms_per_step']:>9.1f} "
            f"{r['tokens_per_s']:>10,.0f} {r['gflops']:>9.1f} {r['fraction_of_peak']:>6.1%} "
            f"{format_fraction(r['fraction_of_datasheet_peak']):>9} {r['startup_s']:>10.2f} {r['grow_s']:>7.3f} "
            f"{r['recompile_s']:>12.2f}")


PROGRESSIVE_NOTE = (
    "Grown models: built at the source depth, trained, grown (random init, new blocks at the end, "
    "AdamW state kept for the old parameters) and wrapped again (compiled again when compiled, as the "
    "trainer does), then trained on.  src ms: a step before growth; ms/step, tok/s, GFLOP/s and MFU: "
    "the steps after it, at the grown depth.  startup s: the warmup steps before growth beyond as many "
    "steady steps (the first compile); grow s: the expansion and the new optimizer; recompile s: the "
    "warmup steps after growth beyond as many steady steps (the recompile; eager: what growth alone "
    "costs the first steps).")
