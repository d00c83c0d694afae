"""Growth statistics a run records at each expansion (growth_stats.jsonl) scored against the
theory: the loss change at tau predicted from the source's branch statistics, and the jolt of
the first updates predicted from the new parameters' update statistics."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from progtheory.analysis.results import recipe_of, run_configs


def growth_records(folder: Path | str):
    """(growth statistics, run config.json dict) per growth step of a results folder's runs,
    from growth_stats.jsonl and provenance.jsonl (runs without a provenance record skipped)."""
    folder = Path(folder)
    configs = run_configs(folder / "provenance.jsonl")
    path = folder / "growth_stats.jsonl"
    for line in path.read_text().splitlines() if path.is_file() else []:
        if line.strip() and (stats := json.loads(line))["run_id"] in configs:
            yield stats, configs[stats["run_id"]]


def expansion_change_scores(folder: Path | str) -> pd.DataFrame:
    """The loss change at each growth step of a results folder's runs, predicted from the
    source's branch statistics (`theory.expansion.expansion_loss_change`, fed by the run's
    growth_stats.jsonl and config) against the measured one.

    One row per (run, growth step): run_id, recipe, init, init_scale, source (depth before the
    step), target (depth after), step, predicted, linear, quadratic (nats), measured
    (``loss_grown - loss`` on the same validation batch, NaN for runs recorded before the
    trainer logged it) and ratio (predicted / measured).  Copy runs whose statistics were
    measured at another multiplier than their ``init_scale`` (runs trained before the trainer
    passed it) get no prediction (NaN), and so do noisy copies (``copy_noise``, ``copy_mix``)
    recorded before the trainer measured their draws.  Empty when the folder has no growth
    statistics."""
    from progtheory import config as C
    from progtheory.theory import expansion as E
    from progtheory.theory import parametrization as P

    rows = []
    for stats, raw in growth_records(folder):
        cfg = C.from_run_json(raw)
        m, g = cfg.model, cfg.growth
        target = dict(C.resolve_stages(cfg))[stats["step"]]
        stds = E.fresh_block_stds(parametrization=m.parametrization, width=m.n_embd, base_width=m.base_width,
                                  depth=target, hidden_init=m.hidden_init, std=m.init_std, scale=g.init_scale)
        multiplier = P.residual_multiplier(target, m.base_depth, P.depth_alpha(m.parametrization, m.alpha))
        kw = dict(target_depth=target, placement=g.placement, fresh_stds=stds, multiplier=multiplier,
                  old_blocks=g.old_blocks, init_noise=g.init_noise)
        unmeasured = g.init in C.NOISY_COPIES and g.init_noise > 0 and "noise_fisher" not in stats
        pred = (dict.fromkeys(("loss_change", "linear", "quadratic"), np.nan) if unmeasured  # recorded before the
                else E.expansion_loss_change(g.init, stats, **kw))                              # trainer measured draws
        if g.init.startswith("copy") and stats.get("copy_scale", 1.0) != g.init_scale:
            pred = dict.fromkeys(pred, np.nan)  # unscaled source statistics cannot predict a scaled copy
        measured = stats["loss_grown"] - stats["loss"] if "loss_grown" in stats else np.nan
        rows.append({"run_id": stats["run_id"], "recipe": recipe_of(raw), "init": g.init, "init_scale": g.init_scale,
                     "source": int(stats["depth"]), "target": int(target), "step": int(stats["step"]),
                     "predicted": pred["loss_change"], "linear": pred["linear"], "quadratic": pred["quadratic"],
                     "measured": measured, "ratio": pred["loss_change"] / measured if measured else np.nan})
    return pd.DataFrame(rows)


def jolt_momenta(cfg: dict) -> dict:
    """The moment coefficients `theory.jolt` needs, from a run's config.json dict: momentum
    (AdamW beta1, Muon's Nesterov momentum, SGD's heavy ball) and beta2 (AdamW)."""
    name = cfg.get("optimizer", "adamw")
    momentum = {"adamw": cfg.get("beta1", 0.9), "muon": cfg.get("muon_momentum", 0.95)}.get(
        name, cfg.get("momentum", 0.9))
    return {"momentum": float(momentum), "beta2": float(cfg.get("beta2", 0.95))}


def jolt_scores(folder: Path | str) -> pd.DataFrame:
    """The jolt of the first updates after each growth step of a results folder's runs,
    predicted from the new parameters' update statistics at tau by the two models of
    `theory.jolt` (``predicted``: `jolt_curve`, the gradient held at its tau value; ``line``:
    `jolt_line`, the optimizer's own rule on the quadratic along its first direction; s_k from
    the summed scheduled LRs ``jolt_lr``) against the measured change of the loss on the same
    batch (``jolt_loss[k-1] - loss_grown``: the whole model training on its own batches, so
    old parameters learn too and gradients change).

    One row per (run, growth step, k): run_id, recipe, optimizer, init, init_scale, source,
    step, k, lr (the k-th update's scheduled LR), predicted, line, measured (nats), linear
    (the first-order part -s_k slope), slope, curvature (the update statistics at tau); and
    predicted_train, line_train, alignment: the same models along the direction of the first
    update's own training batch (``update_train``), and its slope over the statistics batch's
    own (NaN for runs that did not log it).  Empty when no run logged update statistics and a
    jolt."""
    from progtheory.theory import jolt as J

    rows = []
    for stats, raw in growth_records(folder):
        if "update" not in stats or not stats.get("jolt_loss"):
            continue
        u, ut, lrs = stats["update"], stats.get("update_train"), np.asarray(stats["jolt_lr"], float)
        mom = jolt_momenta(raw)

        def models(st: dict | None) -> tuple[np.ndarray, np.ndarray]:
            if st is None:
                return np.full(len(lrs), np.nan), np.full(len(lrs), np.nan)
            slope, curvature = st["slope"], max(st["curvature"], 0.0)
            return (J.jolt_curve(slope, curvature, lrs, st["optimizer"], momentum=mom["momentum"]),
                    J.jolt_line(max(slope, 0.0), curvature, lrs, st["optimizer"], **mom))

        (pred, line), (pred_t, line_t) = models(u), models(ut)
        s = J.path_length(lrs, u["optimizer"], momentum=mom["momentum"])
        alignment = ut["slope"] / u["slope"] if ut is not None and u["slope"] else np.nan
        growth = raw["growth"]
        for k, meas in enumerate(stats["jolt_loss"], start=1):
            rows.append({"run_id": stats["run_id"], "recipe": recipe_of(raw), "optimizer": u["optimizer"],
                         "init": growth["init"], "init_scale": growth.get("init_scale", 1.0),
                         "source": int(stats["depth"]), "step": int(stats["step"]), "k": k, "lr": lrs[k - 1],
                         "predicted": float(pred[k - 1]), "line": float(line[k - 1]),
                         "measured": meas - stats["loss_grown"], "linear": float(-s[k - 1] * u["slope"]),
                         "slope": u["slope"], "curvature": max(u["curvature"], 0.0),
                         "predicted_train": float(pred_t[k - 1]), "line_train": float(line_t[k - 1]),
                         "alignment": alignment})
    return pd.DataFrame(rows)


JOLT_KEYS = ("recipe", "optimizer", "source", "init", "init_scale", "run_id")


def jolt_peaks(scores: pd.DataFrame) -> pd.DataFrame:
    """One row per run of `jolt_scores` rows (keys JOLT_KEYS): the change after the first
    update, predicted (``first_pred``, both models agree there; ``first_train`` along the
    training batch's direction) and measured (``first_meas``); the peak over the logged
    updates by the line model (``peak_line``, ``peak_train``), the constant-gradient model
    (``peak_const``) and measured (``peak_meas``); and the run's update statistics (slope,
    curvature, lr of the first update, alignment)."""
    if scores.empty:
        return pd.DataFrame(columns=list(JOLT_KEYS))
    return scores.sort_values("k").groupby(list(JOLT_KEYS), sort=True).agg(
        first_pred=("predicted", "first"), first_meas=("measured", "first"), first_train=("predicted_train", "first"),
        peak_line=("line", "max"), peak_const=("predicted", "max"), peak_meas=("measured", "max"),
        peak_train=("line_train", "max"), slope=("slope", "first"), curvature=("curvature", "first"),
        lr=("lr", "first"), alignment=("alignment", "first")).reset_index()
