"""Measure each run's output-projection norms from its final checkpoint, for P28 (`copy_multiplier`).

For every run of a results folder's runs.csv whose run folder holds a checkpoint at its last step,
the Frobenius norm of each block's attention and MLP output projection (c_proj), and of its
attention input (c_attn) and MLP input (c_fc) projections, averaged over the blocks.

    python scripts/copy_norms.py --runs-root runs                   # experiments/results/copy_multiplier/norms.csv
    python scripts/copy_norms.py --folder ladder --runs-root runs --out /tmp/ladder_norms.csv

Writes the CSV whole (run_id, step, attn_proj, mlp_proj, attn_in, mlp_in); a run whose checkpoint is
missing or not at its last step is left out and named.
"""

import argparse
import csv
import sys
from pathlib import Path

from progtheory.train.checkpoint import final_states

MATRICES = {"attn_proj": "attn.c_proj.weight", "mlp_proj": "mlp.c_proj.weight",
            "attn_in": "attn.c_attn.weight", "mlp_in": "mlp.c_fc.weight"}


def norms(state: dict) -> dict:
    """{name: mean Frobenius norm over the blocks} of one loaded checkpoint."""
    model, depth = state["model"], int(state["depth"])
    return {name: sum(model[f"blocks.{i}.{key}"].norm().item() for i in range(depth)) / depth
            for name, key in MATRICES.items()}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--folder", default="copy_multiplier", help="results folder under --results-root")
    p.add_argument("--results-root", default="experiments/results")
    p.add_argument("--runs-root", default="runs", help="where the run folders (with ckpt.pt) live")
    p.add_argument("--out", default=None, help="default <results-root>/<folder>/norms.csv")
    args = p.parse_args()
    table = Path(args.results_root) / args.folder / "runs.csv"
    if not table.is_file():
        raise SystemExit(f"error: {table} does not exist; sweep the experiment first or pass --folder/--results-root")
    rows, left_out = [], {}
    for r, _, state in final_states(table, Path(args.runs_root), left_out):
        rows.append({"run_id": r["run_id"], "step": int(state["counters"]["step"]),
                     **{k: f"{v:.6g}" for k, v in norms(state).items()}})
    skipped = [f"{rid} ({why})" for rid, why in left_out.items()]
    out = Path(args.out or Path(args.results_root) / args.folder / "norms.csv")
    with open(out, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=["run_id", "step", *MATRICES])
        w.writeheader()
        w.writerows(rows)
    print(f"{len(rows)} runs measured -> {out}")
    if skipped:
        print("left out: " + ", ".join(skipped), file=sys.stderr)


if __name__ == "__main__":
    main()
