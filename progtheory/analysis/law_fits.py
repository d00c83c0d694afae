"""Loss laws fitted to measured curves and scored where they were not fitted: the last-iterate
bound on fixed-size validation curves, and the expansion-timing law on held-out progressive runs."""

from __future__ import annotations

import numpy as np
import pandas as pd

from progtheory.theory import bounds, timing


def bound_fits(metrics: pd.DataFrame, run_ids, fit_until: float = 0.8) -> pd.DataFrame:
    """P16: the last-iterate bound (`theory.bounds.fit_bound`) fitted to each run's validation
    curve, from its per-step LR.  Row t of metrics.csv is evaluated after t + 1 steps.

    Columns: run_id, r2 (fit on the whole curve), final (measured), pred_final and rel_err
    (pred_final / final - 1) from a fit on the evaluations before fit_until * T only, so the
    bound must predict the decay phase it has not seen.  Runs without an LR on every step are
    skipped."""
    rows = []
    for rid in run_ids:
        m = metrics[metrics.run_id == rid].sort_values("step")
        T = len(m)
        if T < 3 or not np.array_equal(m.step.to_numpy(), np.arange(T)):
            continue
        etas = m.lr.to_numpy(dtype=float)
        ev = m[m.val_loss.notna()]
        taken, loss = ev.step.to_numpy() + 1, ev.val_loss.to_numpy(dtype=float)
        full = bounds.fit_bound(etas, taken, loss)
        early = taken <= fit_until * T
        part = bounds.fit_bound(etas, taken[early], loss[early])
        pred = float(part.predict(etas, taken[-1:])[0])
        rows.append({"run_id": rid, "r2": full.r2, "final": loss[-1], "pred_final": pred,
                     "rel_err": pred / loss[-1] - 1.0, "n_evals": len(loss)})
    return pd.DataFrame(rows)


def _mean_train_curve(metrics: pd.DataFrame, run_ids) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(steps, lr, seed-mean train loss) over the runs `run_ids` (same schedule and length)."""
    m = metrics[metrics.run_id.isin(list(run_ids))].groupby("step")[["lr", "train_loss"]].mean().sort_index()
    return m.index.to_numpy(dtype=float), m.lr.to_numpy(), m.train_loss.to_numpy()


def timing_law_scores(runs: pd.DataFrame, metrics: pd.DataFrame, source: int,
                      pilot_taus=(0.25, 0.7), pilot_schedule: str = "wsd", skip: int = 50,
                      tail: int = 50) -> tuple[pd.DataFrame, "timing.ProgressiveLaw"]:
    """The expansion-timing law (`theory.timing.ProgressiveLaw`) fitted on some runs and scored
    on the others, for one source depth.

    Fitted on: the fixed runs (target law, every schedule), the pre-tau part of the latest-tau
    run of each schedule (source law), and the `pilot_schedule` runs at `pilot_taus` (S_mix).
    All fits use seed-mean train-loss curves from step `skip` on.  Scored on every other
    (schedule, tau): predicted final gap (relative, from the law) against the measured relative
    gap of the seed-mean train loss over the last `tail` steps.  Returns (table, law)."""
    if "lr" in runs and runs.lr.nunique() > 1:
        raise ValueError(f"runs mix the peak LRs {sorted(runs.lr.unique())}; pass the runs of one LR")
    curves = {}
    for key, g in runs.groupby(["schedule", "source", "tau"]):
        curves[key] = _mean_train_curve(metrics, g.run_id)
    cut = (lambda c, hi=None: tuple(x[skip:hi] for x in c))
    fixed = [cut(c) for (sch, src, tau), c in curves.items() if src < 0]
    src_runs = {sch: max(tau for (s, src, tau) in curves if s == sch and src == source)
                for (sch, src, _) in curves if src == source}
    pre = []
    for sch, tau in src_runs.items():
        steps, lr, loss = curves[(sch, source, tau)]
        pre.append(cut((steps, lr, loss), int(round(tau * len(steps)))))
    target, src_law = timing.fit_loss_law(fixed), timing.fit_loss_law(pre)
    pilots = [(*curves[(pilot_schedule, source, tau)], round(tau * len(curves[(pilot_schedule, source, tau)][0])))
              for tau in pilot_taus if (pilot_schedule, source, tau) in curves]
    law = timing.fit_mixing_area(src_law, target, pilots)
    out = []
    for (sch, src, tau), (steps, lr, loss) in curves.items():
        if src != source:
            continue
        f_steps, f_lr, f_loss = curves[(sch, -1, 1.0)]
        predicted = law.predict(steps, lr, round(tau * len(steps)))[-1] / target.predict(f_steps, f_lr)[-1] - 1
        measured = loss[-tail:].mean() / f_loss[-tail:].mean() - 1
        out.append({"schedule": sch, "tau": tau, "pilot": sch == pilot_schedule and tau in pilot_taus,
                    "source_fit": tau == src_runs[sch], "predicted": float(predicted), "measured": float(measured)})
    return pd.DataFrame(out), law
