"""The `progtheory` command line (see `progtheory.cli.parser`)."""

from progtheory.cli.parser import _stop_on_signals, build_parser, config_from_args, main, parse_sets, plot_runs  # noqa: F401
