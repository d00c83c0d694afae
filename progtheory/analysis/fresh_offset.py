"""The fresh-start gap model (`theory.loss_laws.fresh_offset`) on the ladder (pandas; no torch).

A grown run's final loss is stated as the fixed-size law's loss for a fresh 4-layer model
trained only the steps after tau under the same schedule tail, plus a per-source offset law
delta(S) fitted on the ladder's measured conditions.  The fixed run's final loss is the same
law over the whole schedule, so the gap needs no progressive pilot at the target budget.

Fit set, declared with the statement (`statement`): the ladder's fixed runs and WSD
progressive runs with T < the target budget (T in FIT_T); every seed of each.  The scored
conditions are those trained after the statement was committed (`experiments/predictions/
ladder_160k.csv`: the T = 160,000 rung's copy and fixed runs; its 0-layer run was measured
before and is listed, not scored).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from progtheory.analysis import gap_model as GS
from progtheory.analysis.stats import val_curve
from progtheory.presets import RECIPE_LR
from progtheory.theory import loss_laws as LL
from progtheory.theory.loss_laws.fresh_offset import OffsetLaw, fit_offset_law

ARM = "recipe-d32"
FIT_T = (2500, 10000, 40000)
SOURCES = ((0, "random"), (1, "copy"))
STATEMENT = "experiments/predictions/ladder_160k.csv"  # the committed statement (`write_statement`)


def _tail(T: int, tau: float) -> tuple[int, np.ndarray]:
    tau_step = round(tau * T)
    return T - tau_step, GS.schedule_of(RECIPE_LR, "wsd", T)[tau_step:]


def fresh_loss(law, T: int, tau: float) -> float:
    """The fixed-size `law`'s final loss for a fresh run of the S = T - tau*T steps after tau under
    the ladder's WSD schedule tail (assumption 1 of `loss_laws.fresh_offset`)."""
    S, eta = _tail(T, tau)
    return float(law.predict(np.arange(S), eta, at=[S - 1])[0])


def fixed_loss(law, T: int) -> float:
    """The fixed-size `law`'s final loss over the ladder's WSD schedule of T steps."""
    return float(law.predict(np.arange(T), GS.schedule_of(RECIPE_LR, "wsd", T), at=[T - 1])[0])


def fit(runs: pd.DataFrame, metrics: pd.DataFrame, fit_T=FIT_T, rng: np.random.Generator | None = None) -> dict:
    """{"law": the fixed law fitted on the fixed runs at `fit_T`, "offsets": the measured offsets,
    (source, init): OffsetLaw}; with `rng`, each condition's seeds are resampled first (bootstrap)."""
    a = GS.GROWN_ARMS[ARM]
    law = LL.fit_multi_power_law([val_curve(metrics, GS.resample_ids(GS._select(runs, "wsd", T), rng)) for T in fit_T],
                                 form=a.form, shift=a.shift)
    rows = []
    grown = runs[(runs.schedule == "wsd") & (runs.source >= 0) & runs.steps_T.isin(fit_T)]
    for (src, init, T, tau), g in grown.groupby(["source", "init", "steps_T", "tau"]):
        ids = GS.resample_ids(g, rng)
        loss = float(g.set_index("run_id").loc[ids].final_val_loss.mean())
        S, _ = _tail(int(T), float(tau))
        rows.append(dict(source=int(src), init=init, T=int(T), tau=float(tau), S=S, n=len(g),
                         grown=loss, fresh=fresh_loss(law, int(T), float(tau))))
    offsets = pd.DataFrame(rows).assign(delta=lambda d: d.grown - d.fresh)
    out = {"law": law, "offsets": offsets}
    for key in SOURCES:
        o = offsets[(offsets.source == key[0]) & (offsets.init == key[1])]
        out[key] = fit_offset_law(o.S, o.delta, o.n)
    return out


def predict(model: dict, T: int, tau: float = 0.8) -> dict:
    """{"fixed": loss, (source, init): (grown loss, gap %)} at the ladder's WSD schedule of T steps."""
    fixed = fixed_loss(model["law"], T)
    S, _ = _tail(T, tau)
    out = {"fixed": fixed}
    for key in SOURCES:
        off: OffsetLaw = model[key]
        grown = fresh_loss(model["law"], T, tau) + float(off(S))
        out[key] = (grown, 100 * (grown / fixed - 1))
    return out


def statement(T: int = 160000, tau: float = 0.8, root="experiments/results", n_boot: int = GS.N_BOOT,
              seed: int = 0, fit_T=FIT_T) -> pd.DataFrame:
    """The fresh-start model's statement for the ladder's rung T at tau, fitted on the rungs
    `fit_T`: rows quantity (the fixed run's final loss, each source's grown final loss and gap),
    predicted, lo, hi (`GS.LEVEL` range over `n_boot` refits on seed-resampled conditions)."""
    runs, metrics = GS.arm_runs(ARM, root)
    rng = np.random.default_rng(seed)
    fits = [fit(runs, metrics, fit_T)] + [fit(runs, metrics, fit_T, rng=rng) for _ in range(n_boot)]
    preds = [predict(f, T, tau) for f in fits]
    S, _ = _tail(T, tau)
    q = ((1 - GS.LEVEL) / 2, (1 + GS.LEVEL) / 2)
    rows = []

    def row(name, values, **kw):
        lo, hi = np.quantile(values[1:], q)
        rows.append(dict(quantity=name, T=T, tau=tau, steps_after_tau=S, predicted=values[0], lo=lo, hi=hi, **kw))

    row("fixed_loss", [p["fixed"] for p in preds], source=-1)
    for src, init in SOURCES:
        row("grown_loss", [p[(src, init)][0] for p in preds], source=src)
        row("gap_percent", [p[(src, init)][1] for p in preds], source=src)
    return pd.DataFrame(rows)


def write_statement(path, parity: bool = False, **kw) -> pd.DataFrame:
    """`statement` (with `parity`, `parity_statement`) written to `path` (CSV; refused when it
    exists: stated once, before the runs)."""
    path = Path(path)
    if path.exists():
        raise FileExistsError(f"{path} exists; predictions are stated once, before their runs (remove it to restate)")
    table = (parity_statement if parity else statement)(**kw)
    path.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(path, index=False, float_format="%.4f")
    return table


def score(stated: pd.DataFrame, runs: pd.DataFrame) -> pd.DataFrame:
    """Each row of a written `statement` against the ladder's measured runs (`runs`: the arm's
    runs table) at its T and tau: the stated rows plus measured (seed mean over the runs present),
    n_seeds, error (measured - predicted) and inside (measured within [lo, hi]); NaN where the
    run has not ended."""
    out = []
    for r in stated.itertuples():
        T, tau = int(r.T), float(r.tau)
        if r.quantity == "fixed_loss":
            g = GS._select(runs, "wsd", T)
        else:
            g = runs[(runs.schedule == "wsd") & (runs.steps_T == T) & (runs.source == r.source) & np.isclose(runs.tau, tau)]
        measured = np.nan
        if r.quantity in ("fixed_loss", "grown_loss") and len(g):
            measured = float(g.final_val_loss.mean())
        elif r.quantity == "gap_percent":
            fixed = GS._select(runs, "wsd", T).set_index("seed").final_val_loss
            paired = g[g.seed.isin(fixed.index)]
            if len(paired):
                measured = float(100 * np.mean(paired.final_val_loss.to_numpy() / fixed.loc[paired.seed].to_numpy() - 1))
        out.append(dict(r._asdict(), measured=measured, n_seeds=len(g),
                        error=measured - r.predicted, inside=bool(r.lo <= measured <= r.hi) if measured == measured else None))
    return pd.DataFrame(out).drop(columns="Index")


PARITY_T = tuple(int(t) for t in np.geomspace(10_000, 1_000_000, 21).round(-2))  # WSD budgets searched
PARITY_STATEMENT = "experiments/predictions/ladder_parity_fresh.csv"


def parity_statement(tau: float = 0.8, eps: float = 0.5, root="experiments/results", n_boot: int = GS.N_BOOT,
                     seed: int = 0) -> pd.DataFrame:
    """Per source: the fresh-start model's gap (%) at T = 10^6 steps (tau/T = `tau`) and the
    smallest T of PARITY_T at which it is <= `eps` percent (NaN: none up to 10^6), for the point
    fit (`fit`, rungs FIT_T) with the `GS.LEVEL` range of the gap over `n_boot` bootstrap refits."""
    runs, metrics = GS.arm_runs(ARM, root)
    rng = np.random.default_rng(seed)
    fits = [fit(runs, metrics)] + [fit(runs, metrics, rng=rng) for _ in range(n_boot)]
    q = ((1 - GS.LEVEL) / 2, (1 + GS.LEVEL) / 2)
    rows = []
    for key in SOURCES:
        top = [predict(f, PARITY_T[-1], tau)[key][1] for f in fits]
        point = [predict(fits[0], T, tau)[key][1] for T in PARITY_T]
        hit = [T for T, g in zip(PARITY_T, point) if g <= eps]
        lo, hi = np.quantile(top[1:], q) if n_boot else (np.nan, np.nan)
        rows.append(dict(source=key[0], init=key[1], tau=tau, eps=eps, T_parity=hit[0] if hit else np.nan,
                         gap_at_top=top[0], lo=lo, hi=hi, top_T=PARITY_T[-1]))
    return pd.DataFrame(rows)


def gap_curve(taus=(0.5, 0.8), T_grid=None, root="experiments/results") -> pd.DataFrame:
    """The point fit's (`fit`, rungs FIT_T) predicted final gap (percent) over budgets T (default
    20 points from 1,000 to 10^6 steps, log spaced) at each tau/T of `taus`, per source, where the
    budget and the steps after tau are no smaller than the fit's (neither law is extrapolated
    below its data): rows source, init, tau, T, steps_after_tau, predicted (the columns of
    `gap_model.gap_curve`)."""
    runs, metrics = GS.arm_runs(ARM, root)
    model = fit(runs, metrics)
    T_grid = np.unique(np.geomspace(1000, 1e6, 20).astype(int)) if T_grid is None else T_grid
    S_min = int(model["offsets"].S.min())
    rows = [dict(source=src, init=init, tau=tau, T=int(T), steps_after_tau=int(T) - round(tau * int(T)),
                 predicted=predict(model, int(T), tau)[(src, init)][1])
            for src, init in SOURCES for tau in taus for T in T_grid
            if int(T) >= min(FIT_T) and int(T) - round(tau * int(T)) >= S_min]
    return pd.DataFrame(rows)
