"""The `progtheory` command line: train, demo, bench, predict, sweep, plan, figures.

The parser gathers each command's flags from its module (`add_parser`), and `main` runs the
command, turning a ConfigError into exit status 2 and an interruption into 130.
"""

from __future__ import annotations

import argparse
import sys

from progtheory.cli import bench, demo, figures, plan, predict, sweep, train
from progtheory.config import ConfigError

COMMANDS = (train, demo, bench, predict, sweep, plan, figures)  # in the order --help lists them


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="progtheory", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS:
        command.add_parser(sub)
    return parser


def _stop_on_signals() -> None:
    """SIGTERM (a shutdown, `timeout`) and SIGINT stop a run as Ctrl-C does: the trainer marks
    it interrupted and a later sweep resumes it.  SIGINT is reset to Python's handler because a
    shell starts background jobs (`nohup ... &`) with SIGINT ignored."""
    import signal

    def stop(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, signal.default_int_handler)


DASH_VALUED = ("--shard",)  # options whose value may start with '-' (a bad one, refused with its range)


def _attach_dash_values(argv: list[str]) -> list[str]:
    """["--shard", "-1/2"] -> ["--shard=-1/2"]: argparse takes "-1/2" for an option and says
    "expected one argument"; attached, the value reaches its own check."""
    out, i = [], 0
    while i < len(argv):
        if argv[i] in DASH_VALUED and i + 1 < len(argv) and argv[i + 1].startswith("-") \
                and not argv[i + 1].startswith("--"):
            out.append(f"{argv[i]}={argv[i + 1]}")
            i += 2
        else:
            out.append(argv[i])
            i += 1
    return out


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(_attach_dash_values(sys.argv[1:] if argv is None else list(argv)))
    if argv is None:  # as a program, not when called from Python
        _stop_on_signals()
    try:
        return args.func(args)
    except ConfigError as e:
        print(f"progtheory {args.command}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as e:
        print(f"progtheory {args.command}: interrupted ({e or 'Ctrl-C'}); run the same command again to resume",
              file=sys.stderr)
        return 130
