"""State the three readings' predictions for every condition of `saturation` (P26), once.

The gap model is the ladder's (`analysis.gap_model`, arm "recipe-d32", fitted on the ladder's
pilots only), evaluated at each rung's own schedule (WSD, decay over the last 1,000 steps); its
interval is the 90% range over bootstrap refits.  The memory reading's statement is the source's
measured gap at tau = 8,000 (the ladder's T = 10,000, tau = 0.8T runs).  The saturation reading's
statement is a threshold (`analysis.saturation.TOLERANCE`) and needs no number per condition.

    python scripts/saturation_predictions.py          # writes experiments/predictions/saturation.csv
    python scripts/saturation_predictions.py --fresh  # the fresh starts' loss (P27): saturation_fresh.csv
    python scripts/saturation_predictions.py --fresh-start   # `fresh_start`'s runs (P27): fresh_start.csv

Refuses to overwrite: predictions are stated once, before their runs.
"""

import argparse

from progtheory.analysis import saturation as S


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--root", default="experiments/results", help="results root holding the ladder's results")
    p.add_argument("--out", default=None, help="default experiments/predictions/saturation[_fresh].csv")
    p.add_argument("--fresh", action="store_true", help="state the fresh starts' final loss (the ladder's fixed law)")
    p.add_argument("--fresh-start", action="store_true", help="the same for every run of `fresh_start`")
    args = p.parse_args()
    name = "fresh_start" if args.fresh_start else "saturation_fresh" if args.fresh else "saturation"
    out = args.out or f"experiments/predictions/{name}.csv"
    try:
        if args.fresh_start:
            from progtheory.sweep import load_experiment

            steps = sorted({r.cfg.steps for r in load_experiment("fresh_start").runs(False)})
            table = S.write_fresh_statement(out, args.root, steps=steps)
        else:
            table = (S.write_fresh_statement if args.fresh else S.write_predictions)(out, args.root)
    except FileExistsError as e:
        raise SystemExit(str(e)) from None
    print(table.to_string(index=False, float_format=lambda v: f"{v:.3f}"))


if __name__ == "__main__":
    main()
