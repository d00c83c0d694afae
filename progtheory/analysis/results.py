"""Loading results: the tidy tables a sweep writes (`experiments/results/<name>/{runs,metrics}.csv`,
provenance.jsonl), an experiment's arms read as one table, each run's recipe, and the comparison
of two run folders."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd


def load_results(name: str, root: Path | str = "experiments/results") -> tuple[pd.DataFrame, pd.DataFrame]:
    """(runs, metrics) of experiment `name`; raises FileNotFoundError naming the missing file.
    runs carries a `recipe` column: `recipe_of` each run's config in provenance.jsonl, or for a
    run without one, of its parametrization and optimizer tags (default: sp, AdamW)."""
    folder = Path(root) / name
    out = []
    for table in ("runs", "metrics"):
        path = folder / f"{table}.csv"
        if not path.is_file():
            raise FileNotFoundError(f"{path} is missing; run `progtheory sweep {name}` first")
        out.append(pd.read_csv(path))
    runs = out[0]
    tagged = [recipe_of({"model": {"parametrization": r.get("parametrization", "sp")},
                         "optimizer": r.get("optimizer", "adamw")}) for r in runs.to_dict("records")]
    recipes = run_recipes(folder / "provenance.jsonl")
    return runs.assign(recipe=[recipes.get(rid, t) for rid, t in zip(runs.run_id, tagged)]), out[1]


@lru_cache(maxsize=None)
def _declared_arms(name: str) -> tuple[dict, str]:
    """(arm -> results folder, the tag naming the arm) of experiment `name` from its declaration
    (`sweep.load_experiment`); ({}, "") for an experiment without arms or a name no experiment
    file declares."""
    from progtheory.config import ConfigError
    from progtheory.sweep import load_experiment

    try:
        exp = load_experiment(name)
    except ConfigError:
        return {}, ""
    return dict(exp.arms), exp.axis


def arms_of(name: str) -> dict[str, str]:
    """arm -> results folder of experiment `name`, as its declaration states them (`sweep.Experiment.arms`);
    empty for an experiment without arms or a results folder no experiment is named after."""
    return dict(_declared_arms(name)[0])


def arm_folders(name: str, arms=None) -> tuple[str, ...]:
    """The results folders of experiment `name`, one per arm in the declared order (all arms, or
    those named in `arms`); (name,) for an experiment without arms or a results folder that no
    experiment is named after, whatever `arms` says."""
    folders, axis = _declared_arms(name)
    if not folders:
        return (name,)
    arms = (arms,) if isinstance(arms, str) else arms
    unknown = sorted(set(arms or ()) - set(folders))
    if unknown:
        raise ValueError(f"experiment {name} has no arm {axis}={unknown[0]}; its arms: {sorted(folders)}")
    return tuple(folder for arm, folder in folders.items() if arms is None or arm in arms)


def load_arms(name: str, root: Path | str = "experiments/results", arms=None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(runs, metrics) of experiment `name`: the tables of its arms' results folders (`arm_folders`;
    all arms, or those named in `arms`) that hold results, stacked in the declared order, each run
    with its `recipe` (`load_results`).  FileNotFoundError when none does, naming the sweep."""
    arms = (arms,) if isinstance(arms, str) else arms
    loaded = []
    for folder in arm_folders(name, arms):
        try:
            loaded.append(load_results(folder, root))
        except FileNotFoundError:
            continue
    if not loaded:
        _, axis = _declared_arms(name)
        only = "".join(f" --only {axis}={a}" for a in arms or ()) if axis else ""
        raise FileNotFoundError(f"no results of {name} in {Path(root)} ({', '.join(arm_folders(name, arms))}); "
                                f"run `progtheory sweep {name}{only}` first")
    return tuple(pd.concat([x[i] for x in loaded], ignore_index=True) for i in (0, 1))


def experiment_folders(experiments, arm: str) -> tuple[str, ...]:
    """The results folders of arm `arm` of each of `experiments` (one that has no arms is read
    whole), in order: what an arm of the gap models reads."""
    return tuple(folder for name in experiments for folder in arm_folders(name, (arm,)))


OPTIMIZER_NAMES = {"adamw": "AdamW", "muon": "Muon-NSGD", "sgd": "SGD"}


DEFAULT_RECIPE = "sp + AdamW"


def recipe_of(config: dict) -> str:
    """The training recipe of a run config (a `config.json` dict): "<parametrization> +
    <optimizer>", e.g. "sp + AdamW" or "depth-mup + Muon-NSGD"."""
    par = config.get("model", {}).get("parametrization", "sp")
    opt = config.get("optimizer", "adamw")
    return f"{par} + {OPTIMIZER_NAMES.get(opt, opt)}"


def run_configs(path: Path | str) -> dict[str, dict]:
    """run_id -> its config.json dict, from a provenance.jsonl (empty when it is missing)."""
    path = Path(path)
    if not path.is_file():
        return {}
    out = {}
    for line in path.read_text().splitlines():
        if line.strip() and "config" in (rec := json.loads(line)):
            out[rec["run_id"]] = rec["config"]
    return out


def run_recipes(path: Path | str) -> dict[str, str]:
    """run_id -> `recipe_of` its config, from a provenance.jsonl (empty when it is missing)."""
    return {rid: recipe_of(cfg) for rid, cfg in run_configs(path).items()}


def compare_runs(fixed_dir, prog_dir) -> dict:
    """Progressive vs fixed-size run, from their metrics.csv and summary.json.

    tau = the first step at which the progressive run's depth grows.  `margin_at_tau` =
    L_source - L_fixed at the last evaluation both runs made before tau; `recovered` =
    1 - (L_prog(T) - L_fixed(T)) / margin_at_tau, the fraction of the source's deficit closed
    by the end (None unless the margin is positive).  Ratios are fixed / progressive (above
    1 = progressive is cheaper).
    """
    fixed, prog = (pd.read_csv(Path(d) / "metrics.csv") for d in (fixed_dir, prog_dir))
    sf, sp = (json.loads((Path(d) / "summary.json").read_text()) for d in (fixed_dir, prog_dir))
    grown = prog[prog.depth > prog.depth.iloc[0]]
    tau = int(grown.step.iloc[0]) if len(grown) else None
    out = {
        "fixed_val": sf["final_val_loss"], "prog_val": sp["final_val_loss"], "tau": tau,
        "relative_gap": sp["final_val_loss"] / sf["final_val_loss"] - 1.0,
        "wall_ratio": sf["wall_time"] / sp["wall_time"], "flop_ratio": sf["flops"] / sp["flops"],
        "unigram": sf.get("unigram_xent_val"),
        "margin_at_tau": None, "recovered": None, "tau_eval_step": None,
    }
    if tau is not None:
        both = prog[prog.val_loss.notna() & (prog.step < tau)].merge(
            fixed[fixed.val_loss.notna()], on="step", suffixes=("_prog", "_fixed"))
        if len(both):
            last = both.iloc[-1]
            margin = float(last.val_loss_prog - last.val_loss_fixed)
            out["tau_eval_step"], out["margin_at_tau"] = int(last.step), margin
            if margin > 0:
                out["recovered"] = 1.0 - (out["prog_val"] - out["fixed_val"]) / margin
    return out


ARM_COLUMNS = ["run_id", "schedule", "steps_T", "source", "init", "tau", "seed", "final_val_loss"]


def experiment_runs(folders, lr: float,
                    root: Path | str = "experiments/results") -> tuple[pd.DataFrame, pd.DataFrame]:
    """(runs, metrics) of several results folders at one peak LR, the runs of a gap-model arm (its
    folders: `experiment_folders`): one row per run id (a run two folders share counted once)
    with the tags ARM_COLUMNS, where an untagged schedule is WSD, an untagged steps_T the run's
    steps, and init follows the source depth ("fixed" below 0, "random" at 0, "copy" at 1);
    metrics rows (run_id, step, lr, train_loss, val_loss) of those runs.  FileNotFoundError when
    a folder has no results."""
    tables, metrics = [], []
    for name in folders:
        r, m = load_results(name, root)
        r = r[np.isclose(r.lr, lr)] if "lr" in r else r
        r = r.assign(steps_T=r.steps_T if "steps_T" in r else r.steps,
                     schedule=r.schedule if "schedule" in r else "wsd",
                     init=np.where(r.source == 1, "copy", np.where(r.source == 0, "random", "fixed")))
        tables.append(r[ARM_COLUMNS])
        metrics.append(m[["run_id", "step", "lr", "train_loss", "val_loss"]])
    runs = pd.concat(tables).drop_duplicates("run_id").reset_index(drop=True)
    metrics = pd.concat(metrics).drop_duplicates(["run_id", "step"])
    return runs, metrics[metrics.run_id.isin(runs.run_id)]
