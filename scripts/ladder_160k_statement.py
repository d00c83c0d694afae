"""State the fresh-start gap model's prediction for the ladder's T = 160,000 rung, once.

The model (`analysis.fresh_offset`) is fitted on the ladder's rungs T in {2,500, 10,000, 40,000}:
the fixed-size law on their fixed runs, a source-offset law per source on their WSD progressive
runs.  Its interval is the 90% range over bootstrap refits (seeds resampled per condition).

    python scripts/ladder_160k_statement.py            # writes experiments/predictions/ladder_160k.csv
    python scripts/ladder_160k_statement.py --parity   # the gap at 10^6 steps and the parity budget:
                                                       # experiments/predictions/ladder_parity_fresh.csv

Refuses to overwrite: predictions are stated once, before their runs.
"""

import argparse

from progtheory.analysis import fresh_offset as FO


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--root", default="experiments/results", help="results root holding the ladder's results")
    p.add_argument("--out", default=None, help="default FO.STATEMENT (with --parity FO.PARITY_STATEMENT)")
    p.add_argument("--parity", action="store_true", help="state the gap at 10^6 steps and the smallest T with gap <= 0.5%%")
    p.add_argument("--n-boot", type=int, default=20, help="bootstrap refits behind the interval (default 20)")
    args = p.parse_args()
    try:
        out = args.out or (FO.PARITY_STATEMENT if args.parity else FO.STATEMENT)
        table = FO.write_statement(out, parity=args.parity, root=args.root, n_boot=args.n_boot)
    except FileExistsError as e:
        raise SystemExit(f"error: {e}")
    print(table.round(4).to_string(index=False))


if __name__ == "__main__":
    main()
