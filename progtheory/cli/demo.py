"""`progtheory demo`: the fixed-size run against the 0-layer -> L progressive run, compared and drawn."""

from __future__ import annotations

import json
from pathlib import Path

from progtheory import config as C
from progtheory import presets
from progtheory.cli.options import add_config_args, add_run_args, check_out_arg, config_from_args, fmt, parse_sets
from progtheory.config import ConfigError, TrainConfig

DEMO_ENTRIES = ("fixed", "progressive", "demo.png", "demo.json")


def cmd_demo(args) -> int:
    """Both runs, the comparison and the figure, with `--out` locked (`run_lock`) throughout,
    so two demos never write one folder."""
    from progtheory.train import run_lock
    from progtheory.train.run_dir import check_out_dir

    check_out_arg(args.out)
    fixed, prog = presets.demo(config_from_args(args, skip_prefix="growth."))
    growth_sets = {k: v for k, v in parse_sets(args.sets).items() if k.startswith("growth.")}
    prog = C.validate(C.override(prog, growth_sets))
    out = Path(args.out)
    check_out_dir(out)
    _check_demo_dir(out, args.resume)
    _need_matplotlib()
    with run_lock.acquire(out):
        return _demo(args, out, fixed, prog)


def _check_demo_dir(out: Path, resume: bool) -> None:
    """Refuse a demo folder that holds anything but a demo's own files (e.g. a train run),
    and a --resume of a demo folder that does not exist; writes nothing."""
    from progtheory.train.run_lock import LOCK_NAME

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
    from progtheory.train import run_lock
    from progtheory.train.loop import train
    from progtheory.train.run_dir import check_run_dir

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
          f"(unigram baseline {fmt(r['unigram'])})")
    print(f"relative gap     {r['relative_gap']:+.2%} (progressive vs fixed)")
    print(f"margin at tau    {fmt(r['margin_at_tau'])} nats (source minus fixed at step {r['tau_eval_step']}); "
          f"recovered {fmt(r['recovered'], '.1%')} of it by the end")
    f, p = summaries["fixed"], summaries["progressive"]
    print(f"wall-time ratio  {r['wall_ratio']:.2f}x   FLOP ratio {r['flop_ratio']:.2f}x   (fixed / progressive)")
    print(f"time per run     fixed {f['wall_time']:.1f} s wall, {fmt(f.get('cpu_time'), '.1f')} s CPU   "
          f"progressive {p['wall_time']:.1f} s wall, {fmt(p.get('cpu_time'), '.1f')} s CPU   "
          f"(a busy machine stretches wall time, not CPU time)")
    print(f"figure           {fig}")
    return 0


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


def add_parser(sub) -> None:
    p = sub.add_parser("demo", help="fixed-size vs 0-layer -> L progressive run",
                       description="Train the fixed-size model and the 0-layer -> L progressive run "
                       "(tau = 0.8T, WSD, same hyperparameters); print final losses, the gap, the "
                       "wall-time and FLOP ratios; save demo.png and demo.json in --out.")
    add_config_args(p)
    p.add_argument("--out", default="runs/demo", help="output folder (default: runs/demo)")
    add_run_args(p)
    p.set_defaults(func=cmd_demo)
