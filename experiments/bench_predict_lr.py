"""Microseconds per `progtheory.predict_lr` call (target: <= 20 us for a scalar depth).

Usage: python experiments/bench_predict_lr.py
"""

import timeit

import numpy as np

from progtheory import predict_lr


def bench(label: str, fn, number: int = 20000) -> None:
    best = min(timeit.repeat(fn, number=number, repeat=5)) / number
    print(f"{label:45s} {best * 1e6:8.2f} us/call")


def main() -> None:
    kw = dict(base_depth=1, base_lr=3e-3, parametrization="depth-mup", optimizer="adamw")
    bench("scalar depth", lambda: predict_lr(12, **kw))
    bench("scalar depth, width transfer", lambda: predict_lr(12, width=512, base_width=256, **kw))
    bench("scalar depth, alpha override", lambda: predict_lr(12, alpha=0.75, **kw))
    depths = np.arange(1, 65)
    bench("64 depths (numpy array)", lambda: predict_lr(depths, **kw), number=5000)


if __name__ == "__main__":
    main()
