"""The `progtheory` command line: train, demo, bench, predict, sweep, plan, figures.

Every subcommand has `--help`.  Configs come from `progtheory.presets` and are changed with
`--set key=value` (dotted field names, values parsed as JSON, e.g. `--set model.n_layer=8`).
Invalid input exits with status 2 and a message that names the field, the value and the fix.

Modules: `parser` (the parser and `main`), `options` (the flags and checks the commands
share) and one module per command, holding the command and its flags.  The command line
sits on top of the package: it may import any module of progtheory, and none imports it.
Heavy modules (torch, matplotlib) are imported inside the commands, so `--help` stays fast.
"""

from progtheory.cli.parser import _stop_on_signals, build_parser, main

__all__ = ["build_parser", "main"]
