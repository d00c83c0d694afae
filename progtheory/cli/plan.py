"""`progtheory plan`: the predicted gap and the latest tau from the user's pilot runs (`progtheory.planner`)."""

from __future__ import annotations

import json
from pathlib import Path

from progtheory.cli.options import positive_int
from progtheory.config import ConfigError


def cmd_plan(args) -> int:
    import math

    from progtheory import planner

    if not (math.isfinite(args.eps) and 0 < args.eps < 1):
        raise ConfigError(f"--eps {args.eps:g} must be a finite fraction in (0, 1), the tolerated relative final "
                          f"gap, e.g. --eps 0.005 for 0.5%")
    for flag, values, ok, what in (
            ("--taus", args.taus, lambda u: 0 < u < 1, "a fraction tau/T in (0, 1), e.g. --taus 0.5 0.8"),
            ("--budgets", args.budgets, lambda b: 0 < b <= 1e6, "a multiple of the pilots' steps in (0, 1e6], "
                                                              "e.g. --budgets 1 2 4 8")):
        bad = [v for v in values if not (math.isfinite(v) and ok(v))]
        if bad:
            raise ConfigError(f"{flag} {' '.join(f'{v:g}' for v in bad)}: every value must be {what}")
    if args.pilots and (args.fixed or args.progressive):
        raise ConfigError("give the pilots either as FIXED PROGRESSIVE or with --fixed/--progressive, not both")
    if args.pilots:
        if len(args.pilots) != 2:
            raise ConfigError(f"the old form takes two folders, FIXED PROGRESSIVE, got {len(args.pilots)}; "
                              "use --fixed DIR [DIR ...] --progressive DIR [DIR ...]")
        args.fixed, args.progressive = [args.pilots[0]], [args.pilots[1]]
    for flag, dirs in (("--fixed", args.fixed), ("--progressive", args.progressive)):
        if not dirs:
            raise ConfigError(f"{flag} is missing; pass one or more run folders of `progtheory train`, e.g. "
                              f"{flag} runs/pilot")
    if args.n_boot < 0:
        raise ConfigError(f"--n-boot {args.n_boot} must be >= 0 (0: no interval)")
    if args.figure is not None and not args.figure.strip():
        raise ConfigError("--figure is empty; give a file name, e.g. --figure gap_surface.png")
    p = planner.plan(args.fixed, args.progressive, target_T=args.target_T, eps=args.eps, taus=args.taus,
                  budgets=args.budgets, n_boot=args.n_boot, surface=args.figure is not None)
    if args.figure is not None:
        from progtheory import figures

        fig = figures.gap_surface(p["groups"], eps=p["eps"])
        Path(args.figure).parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(args.figure, dpi=150, bbox_inches="tight")
    print(json.dumps(p, indent=1, default=float) if args.json else planner.format_plan(p))
    return 0


def add_parser(sub) -> None:
    p = sub.add_parser("plan", help="predicted gap and recommended tau from your pilot runs",
                       description="Fit the grown gap model on fixed-size pilot run folders (one or more "
                       "budgets T, seeds averaged) and progressive pilot run folders (one growth stage, grouped by "
                       "source depth and init); per group print the predicted final gap over tau/T and T with a "
                       "90%% interval over pilot seeds, the latest tau within --eps, its compute saving and "
                       "efficiency at equal loss, and the T at which tau = 0.8T reaches 0.5%%.  "
                       "The old form `plan FIXED PROGRESSIVE` still works.")
    p.add_argument("pilots", nargs="*", metavar="FIXED PROGRESSIVE",
                   help="the old form: one fixed and one progressive pilot folder (use --fixed/--progressive)")
    p.add_argument("--fixed", nargs="+", metavar="DIR", default=[],
                   help="fixed-size pilot run folders (config.json, metrics.csv); two budgets T recommended")
    p.add_argument("--progressive", nargs="+", metavar="DIR", default=[],
                   help="progressive pilot run folders (same config plus one growth stage)")
    p.add_argument("--target-T", type=positive_int, default=None, help="your planned budget T (steps), added "
                   "to the grid")
    p.add_argument("--eps", type=float, default=0.005, help="tolerated relative final gap (default 0.005 = 0.5%%)")
    p.add_argument("--taus", type=float, nargs="+", default=[0.25, 0.5, 0.7, 0.8, 0.9], help="tau/T grid")
    p.add_argument("--budgets", type=float, nargs="+", default=[1, 2, 4, 8],
                   help="T as multiples of the longest progressive pilot's steps (default 1 2 4 8)")
    p.add_argument("--n-boot", type=int, default=40, help="bootstrap refits behind the intervals (default 40)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument("--figure", metavar="PATH", default=None,
                   help="write the predicted gap surface over (tau/T, tokens per parameter) to PATH (.png/.pdf)")
    p.set_defaults(func=cmd_plan)
