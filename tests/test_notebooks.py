"""Every notebook in notebooks/ runs headless from a clean kernel without error; run again from
the committed results, each writes byte for byte the figures committed in paper_figures/ (slow)."""

import shutil
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

from progtheory.figures import KERNEL_ENV  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def _execute(path: Path, tmp_path: Path, monkeypatch) -> Path:
    """Run a copy of notebook `path` in `tmp_path`; returns the folder its figures went to."""
    figures = tmp_path / "figures"
    monkeypatch.setenv("PROGTHEORY_FIGURES", str(figures))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    for key, value in KERNEL_ENV.items():
        monkeypatch.setenv(key, value)
    copy = tmp_path / path.name
    shutil.copy(path, copy)
    nb = nbformat.read(copy, as_version=4)
    assert nb.metadata.get("kernelspec") and nb.metadata.get("language_info"), "notebook lacks kernel metadata"
    assert nb.cells[0].cell_type == "markdown", "a notebook opens with a markdown cell stating its question"
    assert "**Question" in nb.cells[0].source and "**Answer" in nb.cells[0].source, \
        "the opening cell states the question and the answer"
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code"), "commit notebooks without outputs"
    nbclient.NotebookClient(nb, timeout=120, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}}).execute()
    return figures


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_runs_without_error(path, tmp_path, monkeypatch):
    _execute(path, tmp_path, monkeypatch)


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_rewrites_its_committed_figures_byte_for_byte(path, tmp_path, monkeypatch):
    written = sorted(_execute(path, tmp_path, monkeypatch).glob("*"))
    committed = ROOT / "paper_figures"
    differ = [f.name for f in written
              if not (committed / f.name).is_file() or (committed / f.name).read_bytes() != f.read_bytes()]
    assert not differ, f"{path.name} draws {differ} differently from paper_figures/ (regenerate: progtheory figures)"


def test_theory_notebook_is_collected():
    assert any(p.name == "theory.ipynb" for p in NOTEBOOKS)
