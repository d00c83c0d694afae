"""`progtheory bench`: the throughput and optimizer-step benchmark (`progtheory.bench`)."""

from __future__ import annotations

from progtheory.cli.options import check_output_file
from progtheory.config import ConfigError


def cmd_bench(args) -> int:
    from progtheory import bench
    from progtheory.train.preflight import resolve_device

    for flag, value, low in (("--steps", args.steps, 1), ("--warmup", args.warmup, 0),
                             ("--peak-sizes", min(args.peak_sizes or [1]), 1)):
        if value < low:
            raise ConfigError(f"{flag} {value} must be >= {low}")
    for flag, path in (("--json", args.json), ("--csv", args.csv)):
        if path is not None:
            check_output_file(path, flag)
    device = resolve_device(args.device)
    bench.run(bench.quick_cases() if args.quick else None, steps=args.steps, warmup=args.warmup,
              device=device, peak_sizes=tuple(args.peak_sizes) if args.peak_sizes else None,
              compile=args.compile, opt_cases=bench.optimizer_cases(quick=args.quick),
              grow_cases=bench.default_progressive_cases(device, quick=args.quick),
              writer=bench.BenchWriter(json_path=args.json, csv_path=args.csv))
    return 0


def add_parser(sub) -> None:
    p = sub.add_parser("bench", help="tokens/s, MFU and speed against a plain reference GPT-2; optimizer step cost",
                       description="Measure the matmul peak, then time training steps of a few model sizes, "
                                   "each interleaved with a plain reference GPT-2 of the same shape; on CUDA "
                                   "each eager and compiled, with MFU against the measured and the datasheet "
                                   "peak, and a model that grows mid-benchmark; then count the aten ops of "
                                   "one Muon-NSGD step and time the recipe against AdamW.  Every row is "
                                   "written to --json and --csv as soon as it is measured.")
    p.add_argument("--steps", type=int, default=5, help="timed steps per model (default 5)")
    p.add_argument("--warmup", type=int, default=2, help="untimed steps first (default 2)")
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    p.add_argument("--peak-sizes", type=int, nargs="+",
                   help="matmul sizes n (default: 1024 2048 on CPU, 4096 8192 on CUDA)")
    p.add_argument("--quick", action="store_true", help="tiny models only (seconds)")
    modes = p.add_mutually_exclusive_group()
    modes.add_argument("--compile", dest="compile", action="store_const", const=True,
                       help="torch.compile only (compile time in the warmup); default: eager on CPU, "
                            "eager and compiled on CUDA")
    modes.add_argument("--eager", dest="compile", action="store_const", const=False, help="eager only")
    p.add_argument("--json", help="write the results to this JSON file, rewritten after each row")
    p.add_argument("--csv", help="write one line per model row to this CSV file, as each is measured")
    p.set_defaults(func=cmd_bench)
