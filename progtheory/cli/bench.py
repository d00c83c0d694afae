"""`progtheory bench`: the throughput and optimizer-step benchmark (`progtheory.bench`)."""

from __future__ import annotations

import json
from pathlib import Path

from progtheory.cli.options import check_output_file
from progtheory.config import ConfigError


def cmd_bench(args) -> int:
    from progtheory import bench
    from progtheory.train.preflight import resolve_device

    for flag, value, low in (("--steps", args.steps, 1), ("--warmup", args.warmup, 0),
                             ("--peak-sizes", min(args.peak_sizes or [1]), 1)):
        if value < low:
            raise ConfigError(f"{flag} {value} must be >= {low}")
    if args.json is not None:
        check_output_file(args.json, "--json")
    device = resolve_device(args.device)
    res = bench.run(bench.quick_cases() if args.quick else None, steps=args.steps, warmup=args.warmup,
                    device=device, peak_sizes=tuple(args.peak_sizes) if args.peak_sizes else None,
                    compile=args.compile, opt_cases=bench.optimizer_cases(quick=args.quick))
    if args.json:
        Path(args.json).write_text(json.dumps(res, indent=2) + "\n")
    return 0


def add_parser(sub) -> None:
    p = sub.add_parser("bench", help="tokens/s, MFU and speed against a plain reference GPT-2; optimizer step cost",
                       description="Measure the matmul peak, then time training steps of a few model sizes, "
                                   "each interleaved with a plain reference GPT-2 of the same shape; then count "
                                   "the aten ops of one Muon-NSGD step and time the recipe against AdamW.")
    p.add_argument("--steps", type=int, default=5, help="timed steps per model (default 5)")
    p.add_argument("--warmup", type=int, default=2, help="untimed steps first (default 2)")
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    p.add_argument("--peak-sizes", type=int, nargs="+",
                   help="matmul sizes n (default: 1024 2048 on CPU, 4096 8192 on CUDA)")
    p.add_argument("--quick", action="store_true", help="tiny models only (seconds)")
    p.add_argument("--compile", action="store_true", help="torch.compile both models (compile time in the warmup)")
    p.add_argument("--json", help="also write the results to this JSON file")
    p.set_defaults(func=cmd_bench)
