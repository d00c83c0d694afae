"""`progtheory figures`: every notebook executed (each saves its figures) and VALIDATION.md written."""

from __future__ import annotations

import os
from pathlib import Path

from progtheory.cli.options import positive_int
from progtheory.config import ConfigError


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

    os.environ.update(figures.KERNEL_ENV)  # the kernels inherit it: figures independent of the machine's threads
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


def add_parser(sub) -> None:
    p = sub.add_parser("figures", help="regenerate every figure and VALIDATION.md from committed results",
                       description="Execute every notebook in notebooks/ (each saves PNG and PDF into "
                                   "paper_figures/) and write VALIDATION.md; no training.")
    p.add_argument("--only", action="append", metavar="NOTEBOOK", help="run only this notebook (stem; repeatable)")
    p.add_argument("--jobs", type=positive_int, default=os.cpu_count() or 1,
                   help="notebooks executed at once (default: the number of CPUs)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_figures)
