"""Microseconds per `progtheory.predict_lr` call, without and with a calibration.

Targets: under 20 us per scalar call without a calibration, under 50 us with one.
Prints the figures; asserts nothing (timings depend on the machine and its load).

    python scripts/bench_predict_lr.py [--number 20000]
"""

import argparse
import timeit

import numpy as np

from progtheory.theory.lr_calibration import fit_lr_transfer
from progtheory.theory.parametrization import predict_lr


def synthetic_calibration():
    """A calibration fitted on a noiseless synthetic sweep (lr* = 0.01 L^-0.5 w^-1, 2 widths, 3 seeds)."""
    rows = [dict(depth=L, width=w, seed=s, lr=lr, final_val_loss=(np.log(lr) - np.log(0.01 * L ** -0.5 * w ** -1.0)) ** 2)
            for L in (1, 2, 4, 8) for w in (64, 128) for s in range(3) for lr in 1e-5 * 2.0 ** np.arange(12)]
    return fit_lr_transfer(rows, n_boot=200)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--number", type=int, default=20000, help="calls per timing (best of 5)")
    n = p.parse_args().number
    cal = synthetic_calibration()
    kw = dict(base_depth=4, base_lr=1.5e-3, parametrization="sp", optimizer="adamw")
    calls = {
        "scalar depth (sp, adamw)": lambda: predict_lr(12, **kw),
        "scalar depth + width (depth-mup)": lambda: predict_lr(12, width=512, base_width=256,
                                                               **{**kw, "parametrization": "depth-mup"}),
        "scalar depth, calibrated": lambda: predict_lr(12, width=256, calibration=cal),
        "64 depths (array)": lambda: predict_lr(np.arange(1, 65), **kw),
        "64 depths, calibrated": lambda: predict_lr(np.arange(1, 65), width=256, calibration=cal),
        "interval, calibrated": lambda: cal.interval(12, 256),
    }
    for label, fn in calls.items():
        us = 1e6 * min(timeit.repeat(fn, number=n, repeat=5)) / n
        print(f"predict_lr, {label:<28} {us:8.2f} us/call")


if __name__ == "__main__":
    main()
