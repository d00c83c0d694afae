"""The held-out error of each form of the grown gap model on the three retrospective arms
(the table in experiments/LOG.md, 2026-12-06, and the choice in `analysis.gap_model.GrownArm`).

    python scripts/gap_model_forms.py
"""

import dataclasses
import warnings

import numpy as np
import pandas as pd

from progtheory.analysis import gap_model as G

FORMS = [("additive", True, 1.0), ("additive", True, None), ("additive", False, 1.0),
         ("multiplicative", False, 1.0), ("multiplicative", True, 1.0), ("additive", True, 0.0)]
ARMS = ("sp-adamw", "recipe", "recipe-d64")


def main() -> None:
    warnings.simplefilter("ignore")
    base = dict(G.GROWN_ARMS)
    for form, shift, clock in FORMS:
        errors, cells = [], []
        for arm in ARMS:
            G.GROWN_ARMS[arm] = dataclasses.replace(base[arm], form=form, shift=shift, clock=clock)
            held = pd.DataFrame(G.score_arm(arm, n_boot=0)).query("role == 'held_out'")
            errors += list(held.error)
            cells.append(f"{arm} {held.error.abs().mean():.2f}")
        print(f"{form:14s} offset={shift!s:5s} clock={clock!s:4s} pooled {np.mean(np.abs(errors)):.2f} | "
              + " | ".join(cells))
    G.GROWN_ARMS.update(base)


if __name__ == "__main__":
    main()
