"""Measure each run's block-ablation costs from its final checkpoint (`train.ablation.block_ablation`).

For every run of a results folder's runs.csv whose run folder holds a checkpoint at its last step, the
loss on the run's own validation batches and the rise of that loss when each block is skipped.

    python scripts/block_ablation.py --folder ladder --runs-root runs      # experiments/results/ladder/ablation.csv

Writes the CSV whole (run_id, step, loss, recorded, ablation_0 .. ablation_{L-1}; `recorded` is the run's
final validation loss, which `loss` reproduces); a run whose checkpoint is missing or not at its last
step is left out and named.  Rows of an earlier ablation.csv whose run folder is gone are kept, and with
--keep so are the rows of runs it measured at their last step (only new runs are measured).
"""

import argparse
import csv
import sys
from pathlib import Path

import torch

from progtheory.train.checkpoint import final_states


def measure(run_dir: Path, state: dict, data_cache: dict) -> dict:
    """{loss, ablation_i} of one run's final checkpoint `state` on its validation batches."""
    from progtheory import data as D
    from progtheory.train.ablation import block_ablation
    from progtheory.train.checkpoint import final_model

    cfg, model = final_model(run_dir, state)
    key = (repr(cfg.data), cfg.model.vocab_size)
    if key not in data_cache:
        data_cache[key] = D.prepare_data(cfg.data, cfg.model.vocab_size)
    batches = [(torch.from_numpy(x), torch.from_numpy(y)) for x, y in
               D.eval_batches(data_cache[key].val, cfg.batch_size, cfg.model.block_size, cfg.eval_batches, seed=cfg.seed)]
    out = block_ablation(model, batches)
    return {"loss": out["loss"], **{f"ablation_{i}": a for i, a in enumerate(out["ablation"])}}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--folder", required=True, help="results folder under --results-root")
    p.add_argument("--results-root", default="experiments/results")
    p.add_argument("--runs-root", default="runs", help="where the run folders (with ckpt.pt) live")
    p.add_argument("--out", default=None, help="default <results-root>/<folder>/ablation.csv")
    p.add_argument("--keep", action="store_true",
                   help="keep the rows of runs the existing table measured at their last step; measure the rest")
    args = p.parse_args()
    torch.set_num_threads(1)
    table = Path(args.results_root) / args.folder / "runs.csv"
    if not table.is_file():
        raise SystemExit(f"error: {table} does not exist; sweep the experiment first or pass --folder/--results-root")
    out = Path(args.out or Path(args.results_root) / args.folder / "ablation.csv")
    kept = {}
    if out.is_file():
        with open(out) as f:
            kept = {r["run_id"]: r for r in csv.DictReader(f)}
    with open(table) as f:
        steps = {r["run_id"]: r["steps"] for r in csv.DictReader(f)}
    # a run measured at its last step already is kept as measured (the costs are deterministic)
    done = frozenset(rid for rid, r in kept.items() if args.keep and r["step"] == steps.get(rid))
    rows, left_out, cache = [kept[rid] for rid in done], {}, {}
    for r, run_dir, state in final_states(table, Path(args.runs_root), left_out, skip=done):
        m = measure(run_dir, state, cache)
        rows.append({"run_id": r["run_id"], "step": int(state["counters"]["step"]), "recorded": r["final_val_loss"],
                     **{k: f"{v:.6g}" for k, v in m.items()}})
    rows += [kept[rid] for rid, why in left_out.items() if why == "no checkpoint" and rid in kept]
    skipped = [f"{rid} ({why})" for rid, why in left_out.items() if not (why == "no checkpoint" and rid in kept)]
    order = {rid: i for i, rid in enumerate(steps)}
    rows.sort(key=lambda r: order[r["run_id"]])
    fields = ["run_id", "step", "loss", "recorded"]
    fields += sorted({k for r in rows for k in r if k.startswith("ablation_")}, key=lambda k: int(k.split("_")[1]))
    tmp = out.with_suffix(".tmp")
    with open(tmp, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields, restval="")
        w.writeheader()
        w.writerows(rows)
    tmp.replace(out)
    print(f"{len(rows)} runs -> {out}" + (f"; left out: {', '.join(skipped)}" if skipped else ""), file=sys.stderr)


if __name__ == "__main__":
    main()
