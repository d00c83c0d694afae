"""The registry: every prediction declared once, with its claim, where it comes from, the
tolerance it is judged by, the experiments that measure it and the function that builds its
records.  The report's headings come from here, the table of docs/PREDICTIONS.md is generated
from here (`python -m progtheory.report`), and each experiment's `predictions=` is checked
against it (tests/report/test_report_registry.py)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from progtheory import analysis as A
from progtheory.report import (budget, compute, copies, copy_multiplier, init, jolt, lr, memory, mixing,
                              random_rescale, saturation, source_depth)
from progtheory.report.conditions import PARITY, SPIKE_TOL
from progtheory.report.rule import Record
from progtheory.theory.lr_calibration import HELD_OUT_TARGET

DOC = Path(__file__).resolve().parents[2] / "docs" / "PREDICTIONS.md"
_GAP = f"+{PARITY:.1%}"  # the paper's parity as a band edge


@dataclass(frozen=True)
class Prediction:
    """One prediction: `claim` heads its report section and summary row, `title`, `expected`
    (the statement with its numbers), `tolerance` and `source` (paper, summary, literature or
    toolkit) fill its row of docs/PREDICTIONS.md, `experiments` name the declared experiments
    whose runs measure it (experiments/<name>.py), and `build(results_root)` returns its
    records (an empty list, or records without parts, while it is open)."""

    pid: str
    title: str
    claim: str
    expected: str
    tolerance: str
    source: str
    experiments: tuple[str, ...]
    build: Callable[[str], list[Record]]

    @property
    def open_note(self) -> str:
        """The note of a record with no results yet."""
        return f"not yet measured; declared in `{', '.join(f'experiments/{e}.py' for e in self.experiments)}`"


_ENTRIES = (
    Prediction(
        "P1", "compute savings", "compute savings formula matches counted FLOPs and wall time",
        expected="C_prog ≈ 6·B·(τ·N_s + (T − τ)·N_L) matches counted FLOPs and wall time, in the 6N conventions and "
                 "the exact matmul count",
        tolerance=f"counted FLOPs within {compute.FLOP_TOL:.1%} of the exact count; the wall-time speed-up within "
                  f"±{compute.WALL_TOL:.0%} of it (the shared machine's timing noise)",
        source="summary (the 6N formula); toolkit (exact count, both conventions)",
        experiments=("mixing",), build=compute.p1_records),
    Prediction(
        "P2", "mixing under WSD", "WSD: a 0/1-layer source expanded at τ ≤ 0.8T ends within 0.5% of fixed",
        expected="a 0/1-layer source expanded at τ ≤ 0.8T ends within ~0.5% of the fixed-size loss",
        tolerance=f"every WSD final gap with τ ≤ 0.8T ≤ {_GAP}",
        source="paper (0.5% at 124M, 0.2% at 7B)",
        experiments=("mixing", "baseline_lr", "recipe_lr", "budget", "ladder"),
        build=mixing.p2_records),
    Prediction(
        "P3", "loss spike", "random/copy inits spike at τ, zero-types do not; the spike decays within t_mix",
        expected="random/copy inits spike at τ, zero-type inits do not; the spike decays within t_mix",
        tolerance=f"jump at τ > {SPIKE_TOL} nats for random/copy, ≤ {SPIKE_TOL} nats for zero types; every spiking "
                  f"run back within {SPIKE_TOL} nats of its pre-τ gap by t_mix",
        source="summary",
        experiments=("init_strategies", "init_scale", "jolt", "mixing"), build=init.p3_records),
    Prediction(
        "P4", "zero init fails", "all-zero new blocks get zero gradient and stay dead; copy_zero ends worse",
        expected="all-zero new blocks get exactly zero gradient and stay dead; copy_zero ends worse",
        tolerance=f"gradient exactly 0; zero and copy_zero − copy > {_GAP}; s = 0 − s = 1 > {_GAP}",
        source="summary (\"dead gradients\")",
        experiments=("init_strategies", "init_scale"), build=init.p4_records),
    Prediction(
        "P5", "copy ≥ random", "for a 1-layer source, copy ends no worse than random",
        expected="for a one-layer source, copy gives equal or lower final loss than random",
        tolerance=f"random − copy ≥ −{PARITY:.1%}",
        source="summary",
        experiments=("init_strategies", "copy_symmetry"), build=init.p5_records),
    Prediction(
        "P6", "cosine vs WSD", "under cosine τ ≥ 0.5T leaves a final gap; under WSD 0.8T mixes",
        expected="under cosine, τ ≥ 0.5T leaves a final gap; under WSD, 0.8T mixes",
        tolerance=f"cosine gaps with τ ≥ 0.5T > {_GAP}; WSD gaps at 0.8T ≤ {_GAP}",
        source="summary",
        experiments=("mixing",), build=mixing.p6_records),
    Prediction(
        "P7", "r(τ) link", "the final gap tracks r(τ) across schedules, better than τ/T does",
        expected="the final gap tracks r(τ) = Σ_{t≤τ} η_t / Σ_t η_t across schedules, better than τ/T does",
        tolerance="95% bootstrap interval of ρ(r(τ), gap) − ρ(τ/T, gap) above 0, per source depth",
        source="summary (the convex bound's first term); toolkit (the τ/T null)",
        experiments=("mixing",), build=mixing.p7_records),
    Prediction(
        "P8", "decay phase", "expanding in the decay phase fails to mix",
        expected="expanding in the decay phase fails to mix",
        tolerance=f"WSD gaps with τ > 0.9T > {_GAP}",
        source="toolkit (from the convex bound and P6)",
        experiments=("mixing",), build=mixing.p8_records),
    Prediction(
        "P9", "t_mix vs τ", "t_mix flat in τ under WSD (stable phase), grows under cosine",
        expected="flat in τ under WSD in the stable phase; grows under cosine",
        tolerance="mean t_mix at the latest over the earliest stable-phase τ: ≤ 2 under WSD, ≥ 2 under cosine",
        source="summary",
        experiments=("mixing", "budget"), build=mixing.p9_records),
    Prediction(
        "P10", "t_mix vs source depth", "t_mix about the same for small and larger sources",
        expected="about the same for small and larger sources",
        tolerance="largest over smallest mean t_mix across source depths ≤ 2",
        source="summary (1 vs 6 layers)",
        experiments=("source_depth",), build=source_depth.p10_records),
    Prediction(
        "P11", "Pareto", "0/1-layer sources dominate deeper sources at equal FLOPs",
        expected="0/1-layer sources dominate deeper sources on final loss vs FLOPs, compared at equal FLOPs",
        tolerance=f"a deeper source's gap − the best 0/1-layer path's at equal FLOPs ≥ −{PARITY:.1%}",
        source="summary (sources of 0/1/2/4/6/8 layers)",
        experiments=("source_depth", "mixing"), build=source_depth.p11_records),
    Prediction(
        "P12", "multi-stage", "multi-stage 0→2→L is no better than 0→L at equal FLOPs",
        expected="0→2→L is no better than 0→L, compared at equal FLOPs",
        tolerance=f"the multi-stage gap − the 0-layer path's at equal FLOPs ≥ −{PARITY:.1%}",
        source="summary",
        experiments=("source_depth", "mixing"), build=source_depth.p12_records),
    Prediction(
        "P13", "copy variants", "copy_last worse than copy_stack ≈ copy_inter",
        expected="copying_last worse than copying_stack ≈ copying_inter",
        tolerance=f"copy_last − copy_stack > {_GAP}; copy_inter − copy_stack within ±{PARITY:.1%}",
        source="summary (exact definitions unpublished; the toolkit's are in `progtheory/theory/growth_layout.py`)",
        experiments=("init_strategies",), build=init.p13_records),
    Prediction(
        "P14", "LR transfer", "the LR optimum transfers across depth under the paper's recipe; sp drifts",
        expected="the LR optimum transfers across depth under the paper's recipe (muP-style spectral parametrization "
                 "with Muon-NSGD); the standard parametrization drifts",
        tolerance=f"|e| ≤ {lr.EXPONENT_TOL:.2f} in lr* ∝ L^e under the paper's recipe (over L = 1..8 a slope error "
                  "of 1/3 moves lr* by 2x, one grid step)",
        source="summary (recipe); literature (depth-muP: Yang et al., Tensor Programs VI; Bordelon et al. 2023; "
               "CompleteP: Dey et al. 2025)",
        experiments=("lr_transfer", "lr_transfer_cpu", "recipe_alpha"), build=lr.p14_records),
    Prediction(
        "P15", "recipe", "τ* = T − t_mix from pilots gives parity at lowest cost",
        expected="τ = T − t_mix, with t_mix measured in pilot runs, gives parity at the lowest cost",
        tolerance=f"every gap at τ* ≤ {_GAP}",
        source="summary",
        experiments=("recipe", "mixing"), build=mixing.p15_records),
    Prediction(
        "P16", "convex bound fit", "the last-iterate bound form fits fixed-size loss curves (R² ≥ 0.95)",
        expected="the last-iterate bound form fits fixed-size loss curves (R² ≥ 0.95)",
        tolerance=f"mean R² per schedule ≥ {mixing.R2_MIN}",
        source="literature (Defazio et al. 2023; Schaipp et al. 2025)",
        experiments=("mixing", "baseline_lr"), build=mixing.p16_records),
    Prediction(
        "P17", "zero-init paradox", "the bound favours zero init, measurement does not",
        expected="the bound favours zero init, measurement does not",
        tolerance=f"each zero-type init − copy ≥ −{PARITY:.1%}; s = 1/16 − s = 1 ≥ −{PARITY:.1%}",
        source="summary (a reviewer's objection); toolkit",
        experiments=("init_strategies", "init_scale"), build=init.p17_records),
    Prediction(
        "P18", "zero-layer capacity", "the 0-layer loss plateaus high, yet a late expansion still mixes",
        expected="the 0-layer loss plateaus high, yet a late expansion still mixes",
        tolerance=f"margin at τ ≥ {A.MIN_MARGIN} nats; WSD gaps at 0.7T ≤ τ ≤ 0.9T ≤ {_GAP}",
        source="summary",
        experiments=("mixing",), build=mixing.p18_records),
    Prediction(
        "P19", "compute efficiency at equal loss",
        "progressive runs reach their loss with less compute than the fixed-size frontier",
        expected="progressive runs reach their final loss with less compute than the fixed-size frontier "
                 "(full-schedule WSD runs at several T); the paper's v2 reports 3–5× at 0.25–2B parameters",
        tolerance="efficiency at equal loss ≥ 1 per source and τ (WSD, τ ≤ 0.8T)",
        source="paper (v2: LLAMA3 0.25–2B at 50 tokens/param, DeepSeekV3 0.2–0.5B active at 100 tokens/param)",
        experiments=("frontier", "budget", "mixing"), build=budget.p19_records),
    Prediction(
        "P20", "gap model", "the gap model fitted on pilots predicts the final gap of held-out runs",
        expected="a schedule-driven loss law for the fixed run plus a head start for the progressive run, fitted on "
                 "declared pilots only (fixed WSD and cosine at T = 2000, one progressive run per source), predicts "
                 "the final gap of every other held-out condition: mean absolute error ≤ 1 percentage point, ≥ 80% of "
                 "conditions within ±1.5 points, every trend sign in τ and in T right",
        tolerance=f"mean absolute error ≤ {budget.GAP_MAE_TOL:g} point; ≥ {budget.GAP_SHARE_MIN:.0%} of held-out "
                  f"conditions within ±{budget.GAP_WITHIN:g} points; every trend sign right",
        source="toolkit (`progtheory.analysis.head_start`; the fixed-size laws from Tissue et al. 2024 and Luo et al. 2025, see "
               "[BACKGROUND.md](BACKGROUND.md) §3)",
        experiments=("mixing", "budget", "frontier", "ladder"),
        build=budget.p20_records),
    Prediction(
        "P21", "calibrated LR transfer",
        "lr* = c·L^e·w^f fitted on small shapes predicts the LR optimum at held-out shapes within ×1.3",
        expected="lr* = c·L^e·w^f fitted (`theory.lr_calibration.fit_lr_transfer`) on LR sweeps at small fit shapes "
                 "predicts the optimum at held-out shapes (a depth between and one beyond the fitted ones, at a new "
                 "width): predicted/measured within ×1.3 at every held-out shape, per recipe",
        tolerance=f"predicted / measured within ×{HELD_OUT_TARGET} (about one ×√2 grid step) at every held-out shape",
        source="toolkit (`progtheory.predict_lr(..., calibration=...)`; the power-law form from the muP/CompleteP "
               "literature, see [BACKGROUND.md](BACKGROUND.md) §4)",
        experiments=("lr_transfer_cpu",), build=lr.p21_records),
    Prediction(
        "P22", "init scale of new blocks",
        "new blocks learn best at the largest init scale whose predicted loss change at τ stays within 0.05 nats",
        expected="random and copied blocks started at {0, 1/16, 1/4, 1, 4} × the parametrization's own scale: the "
                 "largest multiplier whose predicted loss change at τ (`theory.expansion.expansion_loss_change`) "
                 "stays within 0.05 nats ends with the smallest final gap (stated before the runs: random s = 1, "
                 "copy s = 1/4); judged per recipe and source by paired final-gap differences",
        tolerance=f"the predicted best s − each other s, paired final gap ≤ {_GAP}",
        source="toolkit (`experiments/init_scale.py`; a rule with no published source, scored by its own sweep)",
        experiments=("init_scale",), build=init.p22_records),
    Prediction(
        "P23", "jolt of the first updates",
        "the loss change of the first updates of new blocks is predicted from their update statistics at τ",
        expected="the loss change after the first update of new blocks, and its peak over the first 10 updates, "
                 "follow from the new parameters' update statistics at τ (`branch_stats.update_statistics`): the "
                 "first step by the second-order model along each optimizer's first direction, the peak by the line "
                 "model (`theory.jolt.jolt_line`: the optimizer's own rule on the quadratic along that direction); "
                 "within ×2, or ±0.02 nats where the measured change is smaller; judged per optimizer (AdamW, "
                 "Muon-NSGD, SGD) on probes of seeds not used before",
        tolerance=f"predicted / measured within ×{jolt.JOLT_FACTOR:g}, or predicted − measured within "
                  f"±{jolt.JOLT_FLOOR} nats where the measured change is at most {jolt.JOLT_FLOOR} nats",
        source="toolkit (`experiments/jolt.py`; the line model is our derivation, exact on a loss that sees the new "
               "parameters through one linear functional: `tests/train/test_init_prediction.py`)",
        experiments=("jolt",), build=jolt.p23_records),
    Prediction(
        "P24", "the copies' symmetry",
        "the copy init's gap floor comes from the copies' symmetry: an init that breaks it shrinks the 1-layer gap "
        "with budget as the 0-layer gap shrinks",
        expected="a 1-layer source grown by copies keeps its copies alike (weight cosine above 0.9 per pair and "
                 "matrix at the end of the run), its gap does not fall with budget (less than 1 point from T = 2,500 "
                 "to 10,000 at τ = 0.8T), while copy_noise (ε = 1/4) and copy_mix (ε = 1/2) break the symmetry and "
                 "their gaps fall by more than 2 points; the separation of two copies follows "
                 "`theory.copy_symmetry.separation` from the first update within ×2 for 50 updates",
        tolerance="cosine > 0.9; the copy's gap falls < 1 point, the symmetry breakers' > 2 points (paired seeds); "
                  "separation within ×2",
        source="toolkit (`experiments/copy_symmetry.py`; the floor measured in `budget`'s recipe-d64 arm and `ladder`)",
        experiments=("copy_symmetry",), build=copies.p24_records),
    Prediction(
        "P25", "the optimizer's memory",
        "the progressive gap closes as the optimizer forgets: at equal steps, the gap falls with λ × LR area after τ",
        expected="the final gap falls as the weights forget their state at τ: with λ·A the weight decay times the LR "
                 "area after τ, gap(λ) = floor + (gap_0 − floor)·exp(−λ·A) (`theory.weight_decay.forgetting_gap`) "
                 "fitted on two λ predicts the others within 2 points; judged fairly, each arm at its best λ against "
                 "the fixed run at its best λ",
        tolerance="the held-out λ within 2 points",
        source="toolkit (`experiments/weight_decay.py`; the EMA reading of decoupled decay: Wang & Aitchison 2024)",
        experiments=("weight_decay",), build=memory.p25_records),
    Prediction(
        "P26", "the source's age",
        "the copy's gap floor is the source's saturation: at equal steps and LR schedule after τ, the 1-layer copy's "
        "gap grows with how long its source was trained",
        expected="with 2,000 steps after τ and the same WSD decay, the copy's gap rises by more than 2 points from "
                 "τ = 500 to τ = 8,000, and by at least 2 more than the 0-layer source's; reported beside it, the "
                 "ladder's gap model and the memory reading (equal λ·A, equal gap), stated before the runs",
        tolerance="rise above 2 points, 2 above the 0-layer source's",
        source="reading from Liew & Kato 2025 (\"Reusing overtrained language models saturates scaling\"); "
               "toolkit (`experiments/saturation.py`)",
        experiments=("saturation",), build=saturation.p26_records),
    Prediction(
        "P27", "a fresh start at τ",
        "a 0-layer source is worth no more than a fresh start: its grown run ends no lower than a 4-layer model "
        "trained only the steps after τ",
        expected="with 2,000 steps after τ, the 0-layer source's grown run ends above a fresh 4-layer run of those "
                 "2,000 steps (same schedule after its warmup) at every source age τ ∈ {500, 2,000, 8,000}, while the "
                 "1-layer copy ends below it at τ = 8,000; across the ladder (τ = 0.8T, T up to 160,000) the 0-layer "
                 "source ends above the fresh start of its steps after τ; reported beside it, the fresh runs' loss "
                 "as the ladder's fixed-size law states it",
        tolerance="the sign of the paired difference (95% interval)",
        source="toolkit (`experiments/saturation.py` and `experiments/fresh_start.py`; the LOG's reading of "
               "`saturation`)",
        experiments=("saturation", "fresh_start"), build=saturation.p27_records),
    Prediction(
        "P28", "the copy's multiplier",
        "the copy floor is the copies' fourfold output projections: a 1-layer source copied as trained, every block "
        "at the depth-L multiplier, loses the floor",
        expected="under the paper's recipe at d = 32, τ = 0.8T, T ∈ {2,500, 10,000, 40,000}: the rescaled copy's loss "
                 "change at τ is at most half the absorbed copy's, its output projections end within 1.5× the fixed "
                 "run's, and it ends at or below the absorbed copy at every T and at or below the 0-layer source at "
                 "T = 40,000 (bounds stated before the runs)",
        tolerance="each bound, seed-paired (95% interval)",
        source="toolkit (`experiments/copy_multiplier.py`; the LOG's reading of the ladder's checkpoints and "
               "`theory.weight_decay`)",
        experiments=("copy_multiplier",), build=copy_multiplier.p28_records),
    Prediction(
        "P29", "fresh blocks beside a trained block",
        "fresh blocks grown on a trained 1-layer source starve because it carries fourfold output projections: with "
        "every block at the depth-L multiplier they learn, end lower, and are the better 1-layer init",
        expected="under the paper's recipe at d = 32, τ = 0.8T, T ∈ {2,500, 10,000, 40,000}, the random blocks grown "
                 "with the source rescaled (`old_blocks = \"rescale\"`) against those grown with it absorbed, same "
                 "seed: their mean cost to drop at T is at least 5× at every T; they end lower at T = 10,000 and "
                 "40,000; at T = 40,000 they end at or below the rescaled copy",
        tolerance="(a) seed-paired ratio ≥ 5 (95% interval); (b) paired difference < 0 (95% interval); (c) paired "
                  "mean ≤ 0",
        source="toolkit (`experiments/random_rescale.py`; the LOG's block ablation of `copy_symmetry` and the "
               "reading of `copy_multiplier`)",
        experiments=("random_rescale",), build=random_rescale.p29_records),
)
PREDICTIONS = {p.pid: p for p in _ENTRIES}


# ----------------------------------------------------------------------------- docs/PREDICTIONS.md

def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def doc_table() -> str:
    """The table of docs/PREDICTIONS.md: one row per prediction of the registry."""
    rows = ["| # | prediction | expected | tolerance | source | experiments |",
            "| --- | --- | --- | --- | --- | --- |"]
    rows += [f"| {p.pid} | {_cell(p.title)} | {_cell(p.expected)} | {_cell(p.tolerance)} | {_cell(p.source)} | "
             + ", ".join(f"`{e}`" for e in p.experiments) + " |" for p in PREDICTIONS.values()]
    return "\n".join(rows) + "\n"


def with_doc_table(text: str) -> str:
    """`text` (docs/PREDICTIONS.md) with its table, the first run of lines starting with "|",
    replaced by `doc_table()`; the prose around it is kept."""
    lines = text.splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if line.startswith("|")), None)
    if start is None:
        raise ValueError("docs/PREDICTIONS.md holds no table (a line starting with '|') to replace")
    end = start
    while end < len(lines) and lines[end].startswith("|"):
        end += 1
    return "".join(lines[:start]) + doc_table() + "".join(lines[end:])


def write_doc(path: Path | str = DOC) -> Path:
    """Rewrite the table of docs/PREDICTIONS.md from the registry."""
    path = Path(path)
    path.write_text(with_doc_table(path.read_text()))
    return path
