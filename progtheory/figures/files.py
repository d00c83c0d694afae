"""Where figures go and how they are written: PNG and PDF with reproducible bytes, into
paper_figures/ at the repository root (or $PROGTHEORY_FIGURES); the committed results they
are drawn from lie in experiments/results/."""

from __future__ import annotations

from pathlib import Path

# The environment of every notebook kernel that draws committed figures: one BLAS thread, since
# the fits behind some figures (e.g. the ladder's gap curves) differ in their last bits with the
# number of threads, and the figures are compared byte for byte.
KERNEL_ENV = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def save(fig, name: str, folder: Path | str) -> list[Path]:
    """Write `fig` as PNG and PDF into `folder`; returns the paths."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / f"{name}.png", folder / f"{name}.pdf"]
    # reproducible bytes: no software version or creation date in either file
    fig.savefig(paths[0], dpi=150, bbox_inches="tight", metadata={"Software": None})
    fig.savefig(paths[1], bbox_inches="tight", metadata={"CreationDate": None, "ModDate": None, "Producer": None,
                                                         "Creator": None})
    return paths


def repo_root() -> Path:
    """The repository root (found from the package; falls back to the working directory)."""
    import progtheory

    root = Path(progtheory.__file__).resolve().parent.parent
    return root if (root / "pyproject.toml").exists() else Path.cwd()


def output_dir() -> Path:
    """Where figures go: $PROGTHEORY_FIGURES if set (tests), else paper_figures/ at the root."""
    import os

    out = Path(os.environ["PROGTHEORY_FIGURES"]) if os.environ.get("PROGTHEORY_FIGURES") else repo_root() / "paper_figures"
    out.mkdir(parents=True, exist_ok=True)
    return out


def results_dir() -> Path:
    """Committed experiment results: experiments/results/ at the repository root."""
    return repo_root() / "experiments" / "results"
