"""The `progtheory` command line: train, demo, bench, predict, sweep, plan, figures.

Every subcommand has `--help`.  Configs come from `progtheory.presets` and are changed with
`--set key=value` (dotted field names, values parsed as JSON, e.g. `--set model.n_layer=8`).
Invalid input exits with status 2 and a message that names the field, the value and the fix.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from progtheory import config as C
from progtheory import presets
from progtheory.config import ConfigError, TrainConfig


# ----------------------------------------------------------------------------- config from arguments

def parse_sets(items: list[str] | None) -> dict[str, str]:
    """["model.n_layer=8", "lr=1e-3"] -> {"model.n_layer": "8", "lr": "1e-3"}."""
    out = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"--set {item!r} must look like key=value, e.g. --set model.n_layer=8")
        out[key.strip()] = value.strip()
    return out


def _add_config_args(p: argparse.ArgumentParser, preset_default: str = "default") -> None:
    p.add_argument("--preset", default=preset_default, choices=sorted(presets.PRESETS),
                   help=f"starting config (default: {preset_default})")
    p.add_argument("--set", dest="sets", action="append", metavar="KEY=VALUE",
                   help="override a config field, e.g. --set model.n_layer=8 (repeatable)")
    p.add_argument("--corpus", help="text file or folder to train on (same as --set data.corpus=PATH)")


def config_from_args(args, skip_prefix: str | None = None) -> TrainConfig:
    """The preset named by --preset with --set and --corpus applied (keys starting with
    `skip_prefix` left out), validated."""
    cfg = presets.get(args.preset)
    changes = parse_sets(args.sets)
    if skip_prefix:
        changes = {k: v for k, v in changes.items() if not k.startswith(skip_prefix)}
    if args.corpus is not None:
        if not args.corpus.strip():
            raise ConfigError(f"--corpus {args.corpus!r} is empty; give a .txt file or a folder to train on, "
                              f"or leave --corpus out to use the preset's corpus")
        changes["data.corpus"] = args.corpus
    new = C.override(cfg, changes)
    try:
        return C.validate(new)
    except ConfigError as e:
        if cfg.growth is None and isinstance(new.growth, C.GrowthPlan) and "growth.stages" not in changes \
                and ("growth" in str(e) or "stage" in str(e)):
            stages = json.dumps([list(s) for s in new.growth.stages])
            raise ConfigError(f"--set growth.stages was not given, so the default growth stages {stages} are "
                              f"used: {e}; give your own, e.g. --set 'growth.stages=[[0.8, {new.model.n_layer}]]'"
                              ) from None
        raise


def _check_out_arg(out: str | None) -> None:
    if out is not None and not out.strip():
        raise ConfigError(f"--out {out!r} is empty; give a folder for the run, e.g. --out runs/NAME "
                          f"(or leave --out out for the default)")


def _add_run_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--resume", action="store_true", help="continue the run in --out from its last checkpoint")
    p.add_argument("--overwrite", action="store_true", help="replace the run files in --out")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


# ----------------------------------------------------------------------------- train

def cmd_train(args) -> int:
    from progtheory.trainer import train

    _check_out_arg(args.out)
    cfg = config_from_args(args)
    out = Path(args.out) if args.out is not None else Path("runs") / f"{cfg.name or 'run'}-{C.run_id(cfg)}"
    s = train(cfg, out, resume=args.resume, overwrite=args.overwrite, quiet=args.quiet)
    print(f"run {s['run_id']} {s['status']} in {out}: final val loss {_fmt(s['final_val_loss'])} "
          f"(best {_fmt(s['best_val_loss'])}, unigram baseline {_fmt(s['unigram_xent_val'])}), "
          f"{s['tokens']:,} tokens, {s['flops']:.3g} FLOPs, {s['wall_time']:.0f} s")
    if s["status"] == "diverged":
        print(f"progtheory train: the run diverged: {s.get('diverged_reason', 'non-finite loss')}; "
              f"lower lr", file=sys.stderr)
    return 0 if s["status"] == "completed" else 1


def _fmt(x, spec: str = ".4f") -> str:
    return "n/a" if x is None else format(x, spec)


# ----------------------------------------------------------------------------- demo

def plot_runs(fixed_dir, prog_dir, path) -> Path:
    """Validation loss against step and against cumulative FLOPs (exact), fixed vs progressive."""
    import pandas as pd

    from progtheory import analysis, figures

    fixed, prog = (pd.read_csv(Path(d) / "metrics.csv") for d in (fixed_dir, prog_dir))
    tokenizer = json.loads((Path(fixed_dir) / "config.json").read_text())["data"]["tokenizer"]
    fig = figures.demo_pair(fixed, prog, analysis.compare_runs(fixed_dir, prog_dir)["tau"],
                            unit="nats/byte" if tokenizer == "bytes" else "nats/token")
    path = Path(path)
    fig.savefig(path, dpi=120)
    figures.plt.close(fig)
    return path


def _need_matplotlib() -> None:
    try:
        import matplotlib  # noqa: F401
        import pandas  # noqa: F401
    except ImportError as e:
        raise ConfigError("the demo figure needs matplotlib and pandas; install them with "
                          "pip install 'progtheory[figures]'") from e


def cmd_demo(args) -> int:
    """Both runs, the comparison and the figure, with `--out` locked (`run_lock`) throughout,
    so two demos never write one folder."""
    from progtheory import run_lock
    from progtheory.trainer import check_out_dir

    _check_out_arg(args.out)
    fixed, prog = presets.demo(config_from_args(args, skip_prefix="growth."))
    growth_sets = {k: v for k, v in parse_sets(args.sets).items() if k.startswith("growth.")}
    prog = C.validate(C.override(prog, growth_sets))
    out = Path(args.out)
    check_out_dir(out)
    _check_demo_dir(out, args.resume)
    _need_matplotlib()
    with run_lock.acquire(out):
        return _demo(args, out, fixed, prog)


DEMO_ENTRIES = ("fixed", "progressive", "demo.png", "demo.json")


def _check_demo_dir(out: Path, resume: bool) -> None:
    """Refuse a demo folder that holds anything but a demo's own files (e.g. a train run),
    and a --resume of a demo folder that does not exist; writes nothing."""
    from progtheory.run_lock import LOCK_NAME

    entries = sorted(p.name for p in out.iterdir()) if out.is_dir() else []
    foreign = [e for e in entries if e not in (*DEMO_ENTRIES, LOCK_NAME)]
    if foreign:
        raise ConfigError(f"--out {out} holds files that are not a demo's ({', '.join(foreign[:4])}"
                          f"{', ...' if len(foreign) > 4 else ''}), e.g. another run; the demo writes "
                          f"{', '.join(DEMO_ENTRIES)} there: choose a new or empty folder for --out")
    if resume and not any(e in DEMO_ENTRIES for e in entries):
        raise ConfigError(f"cannot resume: {out} holds no demo, so there is nothing to resume; "
                          f"drop --resume to start the demo")


def _demo(args, out: Path, fixed: TrainConfig, prog: TrainConfig) -> int:
    from progtheory import run_lock
    from progtheory.trainer import check_run_dir, train

    dirs = {"fixed": out / "fixed", "progressive": out / "progressive"}
    started = {d: d.is_dir() and any(p.name != run_lock.LOCK_NAME for p in d.iterdir()) for d in dirs.values()}
    resume = {d: args.resume and started[d] for d in dirs.values()}  # a run not yet started starts fresh
    for d, cfg in zip(dirs.values(), (fixed, prog)):   # refuse before either run starts
        check_run_dir(d, cfg, resume[d], args.overwrite)
    summaries = {}
    for (kind, d), cfg in zip(dirs.items(), (fixed, prog)):
        print(f"== {kind}: {cfg.model.n_layer} layers"
              + (f", grown from {cfg.growth.source_depth} at step {C.resolve_stages(cfg)[0][0]}" if cfg.growth else "")
              + f", {cfg.steps} steps -> {d}")
        summaries[kind] = train(cfg, d, resume=resume[d], overwrite=args.overwrite, quiet=args.quiet)
    if any(s["status"] != "completed" for s in summaries.values()):
        print("a run did not complete: " + ", ".join(f"{k} {s['status']}" for k, s in summaries.items()))
        return 1
    from progtheory.analysis import compare_runs

    r = compare_runs(dirs["fixed"], dirs["progressive"])
    fig = plot_runs(dirs["fixed"], dirs["progressive"], out / "demo.png")
    (out / "demo.json").write_text(json.dumps(r, indent=2) + "\n")
    print(f"final val loss   fixed {r['fixed_val']:.4f}   progressive {r['prog_val']:.4f}   "
          f"(unigram baseline {_fmt(r['unigram'])})")
    print(f"relative gap     {r['relative_gap']:+.2%} (progressive vs fixed)")
    print(f"margin at tau    {_fmt(r['margin_at_tau'])} nats (source minus fixed at step {r['tau_eval_step']}); "
          f"recovered {_fmt(r['recovered'], '.1%')} of it by the end")
    f, p = summaries["fixed"], summaries["progressive"]
    print(f"wall-time ratio  {r['wall_ratio']:.2f}x   FLOP ratio {r['flop_ratio']:.2f}x   (fixed / progressive)")
    print(f"time per run     fixed {f['wall_time']:.1f} s wall, {_fmt(f.get('cpu_time'), '.1f')} s CPU   "
          f"progressive {p['wall_time']:.1f} s wall, {_fmt(p.get('cpu_time'), '.1f')} s CPU   "
          f"(a busy machine stretches wall time, not CPU time)")
    print(f"figure           {fig}")
    return 0


# ----------------------------------------------------------------------------- bench

def _check_output_file(path: str, flag: str) -> None:
    """Refuse a file the command would write at its end: an empty path, a folder, one whose
    folder is missing, is a file, or is not writable; writes nothing."""
    if not path.strip():
        raise ConfigError(f"{flag} {path!r} is empty; give a file name, e.g. {flag} bench.json")
    p = Path(path)
    if p.is_dir():
        raise ConfigError(f"{flag} {path} is a folder; give a file name, e.g. {flag} {p / 'bench.json'}")
    full = folder = Path(os.path.abspath(p)).parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir():
        raise ConfigError(f"{flag} {path} lies below {folder}, which is a file, not a folder; choose another {flag}")
    if folder != full:
        raise ConfigError(f"{flag} {path}: the folder {full} does not exist; create it or choose another {flag}")
    if not os.access(full, os.W_OK | os.X_OK):
        raise ConfigError(f"{flag} {path}: the folder {full} is not writable; choose a folder you can write to")


def cmd_bench(args) -> int:
    from progtheory import bench
    from progtheory.trainer import resolve_device

    for flag, value, low in (("--steps", args.steps, 1), ("--warmup", args.warmup, 0),
                             ("--peak-sizes", min(args.peak_sizes or [1]), 1)):
        if value < low:
            raise ConfigError(f"{flag} {value} must be >= {low}")
    if args.json is not None:
        _check_output_file(args.json, "--json")
    device = resolve_device(args.device)
    res = bench.run(bench.quick_cases() if args.quick else None, steps=args.steps, warmup=args.warmup,
                    device=device, peak_sizes=tuple(args.peak_sizes) if args.peak_sizes else None,
                    compile=args.compile, opt_cases=bench.optimizer_cases(quick=args.quick))
    if args.json:
        Path(args.json).write_text(json.dumps(res, indent=2) + "\n")
    return 0


# ----------------------------------------------------------------------------- predict

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


# ----------------------------------------------------------------------------- sweep

def cmd_sweep(args) -> int:
    from progtheory import sweep

    folder = Path(args.experiments) if args.experiments else sweep.experiments_dir()
    shard, only = sweep.parse_shard(args.shard), sweep.parse_only(args.only)
    for flag, root, example in (("--runs-root", args.runs_root, "runs"),
                                ("--results-root", args.results_root, "results")):
        if root == "":
            raise ConfigError(f"{flag} '' is empty; give a folder, e.g. {flag} {example}")
    results_root = Path(args.results_root) if args.results_root is not None else folder / "results"
    for flag, root in (("--runs-root", Path(args.runs_root)), ("--results-root", results_root)):
        sweep.check_root(root, flag)
    exp = sweep.load_experiment(args.experiment, folder=folder)
    if args.dry_run:
        rows = sweep.describe(exp, smoke=args.smoke, shard=shard, only=only, runs_root=Path(args.runs_root),
                              results_root=results_root)
        for row in rows:
            print("  ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items()))
        todo = [r for r in rows if r["status"] != "done"]
        print(f"{exp.name}: {len(rows)} runs, {len(rows) - len(todo)} done, {len(todo)} to train "
              f"({sum(r['flops'] for r in todo):.3g} FLOPs); budget: {exp.budget}")
        return 0
    sweep.run_sweep(exp, smoke=args.smoke, shard=shard, only=only, runs_root=Path(args.runs_root),
                    results_root=results_root, quiet=True, progress=not args.quiet)
    return 0


# ----------------------------------------------------------------------------- plan

def cmd_plan(args) -> int:
    import math

    from progtheory import plan

    if not (math.isfinite(args.eps) and 0 < args.eps < 1):
        raise ConfigError(f"--eps {args.eps:g} must be a finite fraction in (0, 1), the tolerated relative final "
                          f"gap, e.g. --eps 0.005 for 0.5%")
    for flag, values, ok, what in (
            ("--taus", args.taus, lambda u: 0 < u < 1, "a fraction tau/T in (0, 1), e.g. --taus 0.5 0.8"),
            ("--budgets", args.budgets, lambda b: 0 < b <= 1e6, "a multiple of the pilots' steps in (0, 1e6], "
                                                              "e.g. --budgets 1 2 4 8")):
        bad = [v for v in values if not (math.isfinite(v) and ok(v))]
        if bad:
            raise ConfigError(f"{flag} {' '.join(f'{v:g}' for v in bad)}: every value must be {what}")
    if args.pilots and (args.fixed or args.progressive):
        raise ConfigError("give the pilots either as FIXED PROGRESSIVE or with --fixed/--progressive, not both")
    if args.pilots:
        if len(args.pilots) != 2:
            raise ConfigError(f"the old form takes two folders, FIXED PROGRESSIVE, got {len(args.pilots)}; "
                              "use --fixed DIR [DIR ...] --progressive DIR [DIR ...]")
        args.fixed, args.progressive = [args.pilots[0]], [args.pilots[1]]
    for flag, dirs in (("--fixed", args.fixed), ("--progressive", args.progressive)):
        if not dirs:
            raise ConfigError(f"{flag} is missing; pass one or more run folders of `progtheory train`, e.g. "
                              f"{flag} runs/pilot")
    if args.n_boot < 0:
        raise ConfigError(f"--n-boot {args.n_boot} must be >= 0 (0: no interval)")
    if args.figure is not None and not args.figure.strip():
        raise ConfigError("--figure is empty; give a file name, e.g. --figure gap_surface.png")
    p = plan.plan(args.fixed, args.progressive, target_T=args.target_T, eps=args.eps, taus=args.taus,
                  budgets=args.budgets, n_boot=args.n_boot, surface=args.figure is not None)
    if args.figure is not None:
        from pathlib import Path

        from progtheory import figures

        fig = figures.gap_surface(p["groups"], eps=p["eps"])
        Path(args.figure).parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(args.figure, dpi=150, bbox_inches="tight")
    print(json.dumps(p, indent=1, default=float) if args.json else plan.format_plan(p))
    return 0


# ----------------------------------------------------------------------------- figures

def cmd_figures(args) -> int:
    """Execute every notebook (each saves its figures into paper_figures/) and write the
    validation report; no training."""
    import time
    from concurrent.futures import ThreadPoolExecutor, as_completed

    from tqdm import tqdm

    from progtheory import figures, report

    try:
        import nbclient
        import nbformat
    except ImportError as e:
        raise ConfigError("progtheory figures needs the notebook extra: pip install 'progtheory[notebooks]'") from e
    root = figures.repo_root()
    notebooks = sorted((root / "notebooks").glob("*.ipynb"))
    if args.only:
        notebooks = [n for n in notebooks if n.stem in args.only]
    def execute(path: Path) -> None:
        nb = nbformat.read(path, as_version=4)
        nbclient.NotebookClient(nb, timeout=300, kernel_name="python3",
                                resources={"metadata": {"path": str(root / "notebooks")}}).execute()

    t0 = time.perf_counter()
    # each notebook runs in its own kernel process; the report is built here meanwhile
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        done = [pool.submit(execute, path) for path in notebooks]
        out = report.write_report(figures.results_dir(), root / "VALIDATION.md")
        for job in tqdm(as_completed(done), total=len(done), desc="notebooks", unit="nb", disable=args.quiet):
            job.result()
    print(f"{len(notebooks)} notebooks executed, figures in {figures.output_dir()}, report {out} "
          f"({time.perf_counter() - t0:.0f} s)")
    return 0


# ----------------------------------------------------------------------------- parser

def _positive_int(text: str) -> int:
    """argparse type: an integer >= 1 (argparse turns the ValueError into a usage error)."""
    value = int(text)
    if value < 1:
        raise ValueError(text)
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="progtheory", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("train", help="train one run from a preset", description="Train one run; writes "
                       "config.json, provenance.json, metrics.csv, summary.json and checkpoints into --out.")
    _add_config_args(p)
    p.add_argument("--out", help="run directory (default: runs/<name>-<run_id>)")
    _add_run_args(p)
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("demo", help="fixed-size vs 0-layer -> L progressive run",
                       description="Train the fixed-size model and the 0-layer -> L progressive run "
                       "(tau = 0.8T, WSD, same hyperparameters); print final losses, the gap, the "
                       "wall-time and FLOP ratios; save demo.png and demo.json in --out.")
    _add_config_args(p)
    p.add_argument("--out", default="runs/demo", help="output folder (default: runs/demo)")
    _add_run_args(p)
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("bench", help="tokens/s, MFU and speed against a plain reference GPT-2; optimizer step cost",
                       description="Measure the matmul peak, then time training steps of a few model sizes, "
                                   "each interleaved with a plain reference GPT-2 of the same shape; then count "
                                   "the aten ops of one Muon-NSGD step and time the recipe against AdamW.")
    p.add_argument("--steps", type=int, default=5, help="timed steps per model (default 5)")
    p.add_argument("--warmup", type=int, default=2, help="untimed steps first (default 2)")
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    p.add_argument("--peak-sizes", type=int, nargs="+",
                   help="matmul sizes n (default: 1024 2048 on CPU, 4096 8192 on CUDA)")
    p.add_argument("--quick", action="store_true", help="tiny models only (seconds)")
    p.add_argument("--compile", action="store_true", help="torch.compile both models (compile time in the warmup)")
    p.add_argument("--json", help="also write the results to this JSON file")
    p.set_defaults(func=cmd_bench)

    p = sub.add_parser("predict", help="parameters, FLOPs per token and predicted LR by depth",
                       description="Print param_count, flops_per_token and predict_lr for a preset's "
                       "model at several depths (and the FLOP savings of its growth plan, if any).")
    _add_config_args(p)
    p.add_argument("--depths", type=int, nargs="+", help="depths to tabulate (default: 0, 1, n_layer)")
    p.add_argument("--base-lr", type=float, help="LR tuned at --base-depth (default: the preset's lr)")
    p.add_argument("--base-depth", type=int, help="depth at which --base-lr was tuned (default: the preset's n_layer)")
    p.add_argument("--results", metavar="DIR", help="a sweep's results folder (runs.csv with depth, width, lr, seed, "
                   "final_val_loss): also print the LR calibrated on it (fit_lr_transfer) with its interval")
    p.set_defaults(func=cmd_predict)

    p = sub.add_parser("sweep", help="run an experiment declared in experiments/<name>.py",
                       description="Train every unfinished run of an experiment and refresh its tidy tables.")
    p.add_argument("experiment", help="experiment name (experiments/<name>.py) or path to a .py file")
    p.add_argument("--experiments", metavar="DIR", help="folder of experiment files (default: the "
                   "experiments/ folder of the progtheory checkout, found from any directory)")
    p.add_argument("--smoke", action="store_true", help="the experiment's seconds-long variant")
    p.add_argument("--shard", help="i/n: run every n-th run starting at i")
    p.add_argument("--only", action="append", metavar="TAG=VALUE",
                   help="run only runs with this tag value, e.g. --only seed=0 (repeatable; "
                        "values of one tag are OR-ed, different tags AND-ed)")
    p.add_argument("--runs-root", default="runs", help="where run directories go (default: runs)")
    p.add_argument("--results-root", help="where the tidy tables go (default: <experiments folder>/results)")
    p.add_argument("--dry-run", action="store_true", help="list the runs, their status and FLOPs; train nothing")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_sweep)

    p = sub.add_parser("plan", help="predicted gap and recommended tau from your pilot runs",
                       description="Fit the grown gap model on fixed-size pilot run folders (one or more "
                       "budgets T, seeds averaged) and progressive pilot run folders (one growth stage, grouped by "
                       "source depth and init); per group print the predicted final gap over tau/T and T with a "
                       "90%% interval over pilot seeds, the latest tau within --eps, its compute saving and "
                       "efficiency at equal loss, and the T at which tau = 0.8T reaches 0.5%%.  "
                       "The old form `plan FIXED PROGRESSIVE` still works.")
    p.add_argument("pilots", nargs="*", metavar="FIXED PROGRESSIVE",
                   help="the old form: one fixed and one progressive pilot folder (use --fixed/--progressive)")
    p.add_argument("--fixed", nargs="+", metavar="DIR", default=[],
                   help="fixed-size pilot run folders (config.json, metrics.csv); two budgets T recommended")
    p.add_argument("--progressive", nargs="+", metavar="DIR", default=[],
                   help="progressive pilot run folders (same config plus one growth stage)")
    p.add_argument("--target-T", type=_positive_int, default=None, help="your planned budget T (steps), added "
                   "to the grid")
    p.add_argument("--eps", type=float, default=0.005, help="tolerated relative final gap (default 0.005 = 0.5%%)")
    p.add_argument("--taus", type=float, nargs="+", default=[0.25, 0.5, 0.7, 0.8, 0.9], help="tau/T grid")
    p.add_argument("--budgets", type=float, nargs="+", default=[1, 2, 4, 8],
                   help="T as multiples of the longest progressive pilot's steps (default 1 2 4 8)")
    p.add_argument("--n-boot", type=int, default=40, help="bootstrap refits behind the intervals (default 40)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument("--figure", metavar="PATH", default=None,
                   help="write the predicted gap surface over (tau/T, tokens per parameter) to PATH (.png/.pdf)")
    p.set_defaults(func=cmd_plan)

    p = sub.add_parser("figures", help="regenerate every figure and VALIDATION.md from committed results",
                       description="Execute every notebook in notebooks/ (each saves PNG and PDF into "
                                   "paper_figures/) and write VALIDATION.md; no training.")
    p.add_argument("--only", action="append", metavar="NOTEBOOK", help="run only this notebook (stem; repeatable)")
    p.add_argument("--jobs", type=_positive_int, default=os.cpu_count() or 1,
                   help="notebooks executed at once (default: the number of CPUs)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_figures)
    return parser


def _stop_on_signals() -> None:
    """SIGTERM (a shutdown, `timeout`) and SIGINT stop a run as Ctrl-C does: the trainer marks
    it interrupted and a later sweep resumes it.  SIGINT is reset to Python's handler because a
    shell starts background jobs (`nohup ... &`) with SIGINT ignored."""
    import signal

    def stop(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, signal.default_int_handler)


DASH_VALUED = ("--shard",)  # options whose value may start with '-' (a bad one, refused with its range)


def _attach_dash_values(argv: list[str]) -> list[str]:
    """["--shard", "-1/2"] -> ["--shard=-1/2"]: argparse takes "-1/2" for an option and says
    "expected one argument"; attached, the value reaches its own check."""
    out, i = [], 0
    while i < len(argv):
        if argv[i] in DASH_VALUED and i + 1 < len(argv) and argv[i + 1].startswith("-") \
                and not argv[i + 1].startswith("--"):
            out.append(f"{argv[i]}={argv[i + 1]}")
            i += 2
        else:
            out.append(argv[i])
            i += 1
    return out


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(_attach_dash_values(sys.argv[1:] if argv is None else list(argv)))
    if argv is None:  # as a program, not when called from Python
        _stop_on_signals()
    try:
        return args.func(args)
    except ConfigError as e:
        print(f"progtheory {args.command}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as e:
        print(f"progtheory {args.command}: interrupted ({e or 'Ctrl-C'}); run the same command again to resume",
              file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
