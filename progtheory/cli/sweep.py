"""`progtheory sweep`: train the unfinished runs of a declared experiment (`progtheory.sweep`)."""

from __future__ import annotations

from pathlib import Path

from progtheory.config import ConfigError


def cmd_sweep(args) -> int:
    from progtheory import sweep

    folder = Path(args.experiments) if args.experiments else sweep.experiments_dir()
    shard, only = sweep.parse_shard(args.shard), sweep.parse_only(args.only)
    for flag, root, example in (("--runs-root", args.runs_root, "runs"),
                                ("--results-root", args.results_root, "results")):
        if root == "":
            raise ConfigError(f"{flag} '' is empty; give a folder, e.g. {flag} {example}")
    results_root = Path(args.results_root) if args.results_root is not None else folder / "results"
    for flag, root in (("--runs-root", Path(args.runs_root)), ("--results-root", results_root)):
        sweep.check_root(root, flag)
    exp = sweep.load_experiment(args.experiment, folder=folder)
    if args.dry_run:
        rows = sweep.describe(exp, smoke=args.smoke, shard=shard, only=only, runs_root=Path(args.runs_root),
                              results_root=results_root)
        for row in rows:
            print("  ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items()))
        todo = [r for r in rows if r["status"] != "done"]
        print(f"{exp.name}: {len(rows)} runs, {len(rows) - len(todo)} done, {len(todo)} to train "
              f"({sum(r['flops'] for r in todo):.3g} FLOPs); budget: {exp.budget}")
        return 0
    sweep.run_sweep(exp, smoke=args.smoke, shard=shard, only=only, runs_root=Path(args.runs_root),
                    results_root=results_root, quiet=True, progress=not args.quiet)
    return 0


def add_parser(sub) -> None:
    p = sub.add_parser("sweep", help="run an experiment declared in experiments/<name>.py",
                       description="Train every unfinished run of an experiment and refresh its tidy tables.")
    p.add_argument("experiment", help="experiment name (experiments/<name>.py) or path to a .py file")
    p.add_argument("--experiments", metavar="DIR", help="folder of experiment files (default: the "
                   "experiments/ folder of the progtheory checkout, found from any directory)")
    p.add_argument("--smoke", action="store_true", help="the experiment's seconds-long variant")
    p.add_argument("--shard", help="i/n: run every n-th run starting at i")
    p.add_argument("--only", action="append", metavar="TAG=VALUE",
                   help="run only runs with this tag value, e.g. --only seed=0 (repeatable; "
                        "values of one tag are OR-ed, different tags AND-ed)")
    p.add_argument("--runs-root", default="runs", help="where run directories go (default: runs)")
    p.add_argument("--results-root", help="where the tidy tables go (default: <experiments folder>/results)")
    p.add_argument("--dry-run", action="store_true", help="list the runs, their status and FLOPs; train nothing")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_sweep)
