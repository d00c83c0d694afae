"""`progtheory train`: one run from a preset."""

from __future__ import annotations

import sys
from pathlib import Path

from progtheory import config as C
from progtheory.cli.options import add_config_args, add_run_args, check_out_arg, config_from_args, fmt


def cmd_train(args) -> int:
    from progtheory.train.loop import train

    check_out_arg(args.out)
    cfg = config_from_args(args)
    out = Path(args.out) if args.out is not None else Path("runs") / f"{cfg.name or 'run'}-{C.run_id(cfg)}"
    s = train(cfg, out, resume=args.resume, overwrite=args.overwrite, quiet=args.quiet)
    print(f"run {s['run_id']} {s['status']} in {out}: final val loss {fmt(s['final_val_loss'])} "
          f"(best {fmt(s['best_val_loss'])}, unigram baseline {fmt(s['unigram_xent_val'])}), "
          f"{s['tokens']:,} tokens, {s['flops']:.3g} FLOPs, {s['wall_time']:.0f} s")
    if s["status"] == "diverged":
        print(f"progtheory train: the run diverged: {s.get('diverged_reason', 'non-finite loss')}; "
              f"lower lr", file=sys.stderr)
    return 0 if s["status"] == "completed" else 1


def add_parser(sub) -> None:
    p = sub.add_parser("train", help="train one run from a preset", description="Train one run; writes "
                       "config.json, provenance.json, metrics.csv, summary.json and checkpoints into --out.")
    add_config_args(p)
    p.add_argument("--out", help="run directory (default: runs/<name>-<run_id>)")
    add_run_args(p)
    p.set_defaults(func=cmd_train)
