"""`progtheory predict`: parameters, FLOPs per token and the predicted LR by depth, and the LR
calibrated on a sweep's results."""

from __future__ import annotations

import json
from pathlib import Path

from progtheory import config as C
from progtheory.cli.options import add_config_args, config_from_args
from progtheory.config import ConfigError, TrainConfig


def _calibration(folder: str, cfg: TrainConfig):
    """`fit_lr_transfer` on the runs of `folder`/runs.csv trained with the preset's recipe:
    selected by the table's parametrization (and optimizer) columns, or, for a sweep whose
    rows carry no such column (`lr_transfer_cpu`), by the recipe of each run's config in
    provenance.jsonl, at the run length of the sweep's design (experiment.json) when it
    declares one; ConfigError when the fit is impossible."""
    from progtheory.analysis import recipe_of, run_recipes
    from progtheory.theory.lr_calibration import fit_lr_transfer, read_runs

    try:
        rows = read_runs(folder)
        if rows and "parametrization" not in rows[0]:
            base = Path(folder) if Path(folder).is_dir() else Path(folder).parent
            recipes, want = run_recipes(base / "provenance.jsonl"), recipe_of(C.to_dict(cfg))
            steps = (json.loads((base / "experiment.json").read_text()).get("design", {}).get("steps")
                     if (base / "experiment.json").is_file() else None)
            where = {"recipe": want} | ({"steps": steps} if steps else {})
            rows = [r for r in rows if recipes.get(r["run_id"]) == want and (not steps or r.get("steps") == str(steps))]
        else:
            where = {"parametrization": cfg.model.parametrization}
            if rows and "optimizer" in rows[0]:
                where["optimizer"] = cfg.optimizer
            rows = read_runs(folder, **where)
        if not rows:
            raise ValueError(f"it holds no completed runs with {where}; choose a preset that matches the sweep "
                             "(--preset, --set model.parametrization=...)")
        return fit_lr_transfer(rows, parametrization=cfg.model.parametrization, optimizer=cfg.optimizer)
    except ValueError as e:
        raise ConfigError(f"--results {folder}: {e}") from None


def _lr_cells(depths, base_lr, base_depth, cfg: TrainConfig, cal) -> tuple[list[str], str]:
    """The predicted-LR column of `predict` (and the calibrated one with its interval)."""
    from progtheory.theory.parametrization import predict_lr

    m, cells, note = cfg.model, [], ""
    for d in depths:
        if d == 0:
            cells.append("n/a")  # a 0-layer model has no hidden matrices
            continue
        try:
            cell = format(predict_lr(d, base_depth=base_depth, base_lr=base_lr, alpha=m.alpha,
                                     parametrization=m.parametrization, optimizer=cfg.optimizer), ".3g")
        except ValueError as e:
            cell, note = "no rule", f"no rule: {e}"
        cell = f"{cell:>10}"
        if cal is not None:
            try:
                lo, hi = cal.interval(d, m.n_embd if cal.width_fitted else None)
                ci = f"[{lo:.3g}, {hi:.3g}]"
            except ValueError:
                ci = "[one seed]"
            cell += f" {predict_lr(d, width=m.n_embd, calibration=cal):>10.3g} {ci:>20}"
        cells.append(cell)
    return cells, note


def cmd_predict(args) -> int:
    import math

    from progtheory.theory import compute
    from progtheory.theory.parametrization import MAX_DEPTH

    cfg = config_from_args(args)
    m = cfg.model
    base_lr = cfg.lr if args.base_lr is None else args.base_lr
    base_depth = m.n_layer if args.base_depth is None else args.base_depth
    if not (math.isfinite(base_lr) and base_lr > 0):
        raise ConfigError(f"--base-lr {base_lr} must be a finite LR > 0 (the peak LR tuned at --base-depth), e.g. 1.5e-3")
    if not 1 <= base_depth <= MAX_DEPTH:
        raise ConfigError(f"--base-depth {base_depth} must lie in [1, {MAX_DEPTH}] (the depth at which --base-lr "
                          f"was tuned; the depth rules are not defined beyond {MAX_DEPTH} layers)")
    depths = args.depths or sorted({0, 1, m.n_layer})
    bad = [d for d in depths if not 0 <= d <= MAX_DEPTH]
    if bad:
        raise ConfigError(f"--depths {' '.join(map(str, bad))} must lie in [0, {MAX_DEPTH}] layers (the depth "
                          f"rules are not defined beyond {MAX_DEPTH}); give smaller depths, "
                          f"e.g. --depths 1 {m.n_layer}")
    results = Path(args.results) if args.results is not None else None
    if results is not None and results.exists() and not results.is_dir() and results.name != "runs.csv":
        raise ConfigError(f"--results {args.results} is a file, not a folder; pass a sweep's results folder "
                          f"(it holds runs.csv), e.g. --results experiments/results/lr_transfer")
    cal = _calibration(args.results, cfg) if args.results else None
    if cal is not None and not cal.width_fitted and m.n_embd != cal.widths[0]:
        raise ConfigError(f"--results {args.results}: the calibration was fitted at width {cal.widths[0]} only; "
                          f"the preset's width is {m.n_embd}: add --set model.n_embd={cal.widths[0]}")
    cells, note = _lr_cells(depths, base_lr, base_depth, cfg, cal)
    print(f"width {m.n_embd}, vocab {m.vocab_size}, context {m.block_size}, parametrization {m.parametrization}, "
          f"optimizer {cfg.optimizer}; predict_lr from base_lr={base_lr:g} at base_depth={base_depth}")
    if cal is not None:
        print(f"calibrated on {args.results}: {cal.summary()}")
    print(f"{'depth':>5} {'params':>12} {'non-emb':>12} {'exact F/tok':>12} {'6N F/tok':>12} {'pred. LR':>10}"
          + (f" {'calib. LR':>10} {f'{cal.level:.0%} interval':>20}" if cal is not None else ""))
    for d, lr in zip(depths, cells):
        print(f"{d:>5} {compute.param_count(m, d):>12,} {compute.nonembedding_param_count(m, d):>12,} "
              f"{compute.flops_per_token(m, d, 'exact'):>12.4g} {compute.flops_per_token(m, d, '6N'):>12.4g} {lr:>10}")
    if note:
        print(note)
    if cfg.growth is not None:
        for conv in ("exact", "6N", "6N_nonembed"):
            s = compute.train_config_flops(cfg, convention=conv)
            print(f"growth plan ({conv}): progressive/fixed FLOPs {s['progressive']:.3g}/{s['fixed']:.3g}, "
                  f"savings {s['savings']:.1%}, speed-up {s['speedup']:.2f}x")
    return 0


def add_parser(sub) -> None:
    p = sub.add_parser("predict", help="parameters, FLOPs per token and predicted LR by depth",
                       description="Print param_count, flops_per_token and predict_lr for a preset's "
                       "model at several depths (and the FLOP savings of its growth plan, if any).")
    add_config_args(p)
    p.add_argument("--depths", type=int, nargs="+", help="depths to tabulate (default: 0, 1, n_layer)")
    p.add_argument("--base-lr", type=float, help="LR tuned at --base-depth (default: the preset's lr)")
    p.add_argument("--base-depth", type=int, help="depth at which --base-lr was tuned (default: the preset's n_layer)")
    p.add_argument("--results", metavar="DIR", help="a sweep's results folder (runs.csv with depth, width, lr, seed, "
                   "final_val_loss): also print the LR calibrated on it (fit_lr_transfer) with its interval")
    p.set_defaults(func=cmd_predict)
