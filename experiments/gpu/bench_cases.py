"""Benchmark chosen cases of `progtheory.bench` one at a time, appending each result as it is
measured, so a time cap that stops the process keeps every case measured before it.

    python experiments/gpu/bench_cases.py --device cuda --compile --jsonl bench.jsonl "default (L4)" gpt2-124M

Each case is one `bench.run` call (matmul peak, the case against the reference GPT-2, the
predict_lr timing); its printed table goes to stdout (run with PYTHONUNBUFFERED=1 to keep
every line up to a cut) and its result to one line of the JSON-lines file.  Cases are named
by label, from `bench.default_cases(device)` and `bench.quick_cases()`.
"""

from __future__ import annotations

import argparse
import json
import sys
import time


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("labels", nargs="+", help="case labels, e.g. 'default (L4)' gpt2-124M 'bytes d32 L2'")
    p.add_argument("--device", default="cuda", choices=("cpu", "cuda"))
    p.add_argument("--compile", action="store_true")
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--peak-sizes", type=int, nargs="+", help="matmul sizes n (default: bench's own)")
    p.add_argument("--predict-lr-calls", type=int, default=2000)
    p.add_argument("--jsonl", required=True, help="append one JSON line per measured case here")
    args = p.parse_args(argv)

    from progtheory import bench

    known = {c.label: c for c in bench.default_cases(args.device) + bench.quick_cases()}
    missing = [label for label in args.labels if label not in known]
    if missing:
        print(f"unknown case labels {missing}; known on {args.device}: {sorted(known)}", file=sys.stderr)
        return 2
    for label in args.labels:
        print(f"== {label}, device {args.device}, compile {args.compile}", flush=True)
        t0 = time.perf_counter()
        res = bench.run([known[label]], steps=args.steps, warmup=args.warmup, device=args.device,
                        peak_sizes=tuple(args.peak_sizes) if args.peak_sizes else None, compile=args.compile,
                        predict_lr_calls=args.predict_lr_calls)
        record = {"case": label, "compile": args.compile, "seconds": round(time.perf_counter() - t0, 2), **res}
        with open(args.jsonl, "a") as f:
            f.write(json.dumps(record, default=str) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
