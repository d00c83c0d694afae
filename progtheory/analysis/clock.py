"""Every progressive run of the project on the optimizer's memory clock (issue 28, P25): its
final gap against lam * A, to ask whether all of them fall on one curve (pandas; no torch).

Pairing: a progressive run's fixed partner is the completed run, in any results folder, whose
config equals the progressive run's with no growth (the run id, name and checkpoint, device and
compile settings aside), so the partner shares seed, budget, schedule, LR and weight decay.

The clock: A is the LR area after tau at the config's peak LR (`theory.schedules.lr_factor` of its
schedule), lam its weight decay; every optimizer here decays decoupled, w <- (1 - eta lam) w
(`core.optim`), so lam * A counts the weight-decay timescales passed after tau
(`theory.weight_decay`).  Parametrizations that scale a group's LR (CompleteP's hidden width
multiplier) scale its own clock; A here is the base LR's, the same for every run of one recipe.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from progtheory.analysis.results import recipe_of, run_configs
from progtheory.theory import weight_decay as WD
from progtheory.theory.schedules import lr_factor

IGNORED = ("run_id", "name", "ckpt_every", "device", "compile")


def _fixed_key(cfg: dict) -> str:
    return json.dumps({k: v for k, v in cfg.items() if k not in IGNORED and k != "growth"}, sort_keys=True)


def _completed(root: Path) -> dict[str, tuple[dict, float]]:
    """run_id -> (config, final validation loss) of every completed run any results folder records."""
    out = {}
    for folder in sorted(p for p in Path(root).iterdir() if (p / "runs.csv").is_file()):
        configs = run_configs(folder / "provenance.jsonl")
        runs = pd.read_csv(folder / "runs.csv")
        if "status" in runs:
            runs = runs[runs.status == "completed"]
        for r in runs.itertuples():
            if r.run_id in configs and np.isfinite(r.final_val_loss):
                out.setdefault(r.run_id, (configs[r.run_id], float(r.final_val_loss)))
    return out


def tau_step(cfg: dict) -> int | None:
    """The growth step of a one-stage progressive config (None for any other)."""
    stages = (cfg.get("growth") or {}).get("stages") or []
    if len(stages) != 1:
        return None
    at = stages[0][0]
    return int(round(at * cfg["steps"])) if isinstance(at, float) and at < 1 else int(at)


def lam_area(cfg: dict, tau: int) -> float:
    """lam * A(tau, T) of a config: its weight decay times the LR area after step tau."""
    T = int(cfg["steps"])
    eta = cfg["lr"] * lr_factor(np.arange(T), T, **cfg["schedule"])
    return float(cfg["weight_decay"]) * WD.lr_area(eta, tau)


def project_gaps(root: Path | str = "experiments/results") -> pd.DataFrame:
    """One row per completed one-stage progressive run with a fixed partner: run_id, recipe, d,
    T, tau (a fraction), tau_step, source, init (suffixed "-rescale" where the old blocks were
    rescaled rather than absorbed: `copy_multiplier`), lam, lam_A, seed, gap (percent)."""
    runs = _completed(Path(root))
    fixed = {_fixed_key(cfg): loss for cfg, loss in runs.values() if not cfg.get("growth")}
    rows = []
    for rid, (cfg, loss) in sorted(runs.items()):
        tau = tau_step(cfg)
        partner = fixed.get(_fixed_key(cfg)) if tau is not None else None
        if partner is None:
            continue
        g = cfg["growth"]
        rows.append({"run_id": rid, "recipe": recipe_of(cfg), "d": cfg["model"]["n_embd"], "T": int(cfg["steps"]),
                     "tau": tau / cfg["steps"], "tau_step": tau, "source": int(g["source_depth"]),
                     "init": g.get("init", "random") + ("-rescale" if g.get("old_blocks") == "rescale" else ""), "lam": float(cfg["weight_decay"]), "lam_A": lam_area(cfg, tau),
                     "seed": int(cfg["seed"]), "gap": 100 * (loss / partner - 1)})
    return pd.DataFrame(rows)


def one_curve(gaps: pd.DataFrame) -> pd.DataFrame:
    """Does lam * A alone explain the gaps?  Per (recipe, source, init) with runs at 2 or more
    distinct clocks: the memory model gap = floor + (gap_0 - floor) exp(-lam A)
    (`theory.weight_decay.fit_forgetting`) fitted on all of them, and the share of the gaps'
    variance it explains (r2; 1: one curve), beside n, the clocks' range and the gaps' range."""
    rows = []
    for (rec, src, init), g in gaps.groupby(["recipe", "source", "init"]):
        if g.lam_A.round(6).nunique() < 2:
            continue
        gap_0, floor = WD.fit_forgetting(g.lam_A, g.gap)
        resid = g.gap - WD.forgetting_gap(g.lam_A, gap_0, floor)
        r2 = 1 - float((resid ** 2).sum() / ((g.gap - g.gap.mean()) ** 2).sum())
        rows.append({"recipe": rec, "source": src, "init": init, "n": len(g), "lam_A_min": g.lam_A.min(),
                     "lam_A_max": g.lam_A.max(), "gap_min": g.gap.min(), "gap_max": g.gap.max(), "gap_0": gap_0,
                     "floor": floor, "r2": r2})
    return pd.DataFrame(rows)
