"""Predict the loss change at tau of noisy copies recorded before the trainer measured their draws.

A ``copy_noise`` / ``copy_mix`` run's prediction (`theory.expansion.expansion_loss_change` with
``init_noise``) needs the spread of the draws on the source at tau (`train.branch_stats` with
``noisy``), which runs trained before that probe did not record.  For each such run of a results
folder this script trains the run again up to one update after tau (the same config, so the same
source and the same draw), reads the growth statistics the trainer now writes, and scores the
prediction against the measured change (``loss_grown - loss`` on the statistics batch) of the
recorded run and of the rerun.

    python scripts/noisy_copy_stats.py --folder copy_symmetry --scratch /tmp/noisy

Writes <results-root>/<folder>/noisy_change.csv (run_id, init, eps, steps_T, seed, step,
predicted, copy_predicted, linear, quadratic, measured, measured_rerun): copy_predicted is the
same statistics read as an exact copy.  Reruns already in --scratch are reused.
"""

import argparse
import csv
import json
import sys
from pathlib import Path

from progtheory import config as C
from progtheory.analysis.growth_stats import growth_records
from progtheory.theory import expansion as E

COLUMNS = ["run_id", "init", "eps", "steps_T", "seed", "step", "predicted", "copy_predicted", "linear",
           "quadratic", "measured", "measured_rerun"]


def rerun_stats(cfg, step: int, scratch: Path) -> dict:
    """The growth statistics at `step` of `cfg` trained again to one update after it."""
    from progtheory.train.loop import train

    run_dir = scratch / C.run_id(cfg)
    path = run_dir / f"growth_stats_{step}.json"
    if not path.is_file():
        train(cfg, run_dir, quiet=True, stop_after=step + 1, overwrite=run_dir.exists())
    return json.loads(path.read_text())


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--folder", default="copy_symmetry", help="results folder under --results-root")
    p.add_argument("--results-root", default="experiments/results")
    p.add_argument("--scratch", required=True, help="where the reruns go (their folders are kept for reuse)")
    p.add_argument("--steps-T", type=int, action="append", default=None,
                   help="only the runs of this budget (repeatable; default every budget)")
    args = p.parse_args()
    folder = Path(args.results_root) / args.folder
    if not (folder / "growth_stats.jsonl").is_file():
        raise SystemExit(f"error: {folder}/growth_stats.jsonl does not exist; pass --folder/--results-root")
    rows = []
    for stats, raw in growth_records(folder):
        cfg = C.from_run_json(raw)
        g = cfg.growth
        if g.init not in C.NOISY_COPIES or g.init_noise <= 0 or (args.steps_T and cfg.steps not in args.steps_T):
            continue
        step = int(stats["step"])
        new = rerun_stats(cfg, step, Path(args.scratch))
        target = dict(C.resolve_stages(cfg))[step]
        kw = dict(target_depth=target, placement=g.placement, old_blocks=g.old_blocks)
        pred = E.expansion_loss_change(g.init, new, init_noise=g.init_noise, **kw)
        rows.append({"run_id": stats["run_id"], "init": g.init, "eps": g.init_noise, "steps_T": cfg.steps,
                     "seed": cfg.seed, "step": step, "predicted": pred["loss_change"],
                     "copy_predicted": E.expansion_loss_change("copy", new, **kw)["loss_change"],
                     "linear": pred["linear"], "quadratic": pred["quadratic"],
                     "measured": stats["loss_grown"] - stats["loss"],
                     "measured_rerun": new["loss_grown"] - new["loss"]})
        print(f"{stats['run_id']} {g.init} eps={g.init_noise:g} T={cfg.steps}: predicted {pred['loss_change']:+.4f}, "
              f"measured {rows[-1]['measured']:+.4f} (rerun {rows[-1]['measured_rerun']:+.4f})", file=sys.stderr)
    out = folder / "noisy_change.csv"
    tmp = out.with_suffix(".tmp")
    with open(tmp, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=COLUMNS)
        w.writeheader()
        w.writerows({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in r.items()} for r in rows)
    tmp.replace(out)
    print(f"{len(rows)} noisy runs -> {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
