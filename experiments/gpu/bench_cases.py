"""Benchmark chosen cases of `progtheory.bench` in one mode, eager or compiled, each row appended
to a JSON-lines file as soon as it is measured, so a time cap that stops the process keeps every
row measured before it.

    python experiments/gpu/bench_cases.py --device cuda --compile --jsonl bench.jsonl "default (L4)" "default L1->L4" gpt2-124M

One `bench.run` call: the matmul peaks, then the fixed-depth cases (each against the reference
GPT-2), then the growing ones (`bench.bench_progressive`), in the order given within each kind,
then the predict_lr timing.  Its tables go to stdout, each line flushed as it is printed; each
row is one line of the JSON-lines file ("case", "kind", the device, the measured and datasheet
peaks, then the row, with its MFU against both).  Cases are named by label, from
`bench.default_cases(device)`, `bench.quick_cases()` and `bench.progressive_cases()` (quick or not).
"""

from __future__ import annotations

import argparse
import sys


def known_cases(device: str) -> tuple[dict, dict]:
    """label -> case, for the fixed-depth cases and for the growing ones."""
    from progtheory import bench

    fixed = {c.label: c for c in bench.default_cases(device) + bench.quick_cases()}
    grown = {c.label: c for c in bench.progressive_cases() + bench.progressive_cases(quick=True)}
    return fixed, grown


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("labels", nargs="+", help="case labels, e.g. 'default (L4)' 'default L1->L4' gpt2-124M")
    p.add_argument("--device", default="cuda", choices=("cpu", "cuda"))
    p.add_argument("--compile", action="store_true", help="compiled (default: eager)")
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--peak-sizes", type=int, nargs="+", help="matmul sizes n (default: bench's own)")
    p.add_argument("--predict-lr-calls", type=int, default=2000)
    p.add_argument("--jsonl", required=True, help="append one JSON line per measured row here")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)

    from progtheory import bench

    fixed, grown = known_cases(args.device)
    missing = [label for label in args.labels if label not in fixed and label not in grown]
    if missing:
        print(f"unknown case labels {missing}; known on {args.device}: {sorted(fixed) + sorted(grown)}",
              file=sys.stderr)
        return 2
    bench.run([fixed[x] for x in args.labels if x in fixed], grow_cases=[grown[x] for x in args.labels if x in grown],
              steps=args.steps, warmup=args.warmup, device=args.device, compile=args.compile,
              peak_sizes=tuple(args.peak_sizes) if args.peak_sizes else None,
              predict_lr_calls=args.predict_lr_calls, writer=bench.BenchWriter(jsonl_path=args.jsonl))
    return 0


if __name__ == "__main__":
    sys.exit(main())
