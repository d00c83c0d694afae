"""Every notebook in notebooks/ runs headless from a clean kernel without error."""

import shutil
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_runs_without_error(path, tmp_path, monkeypatch):
    monkeypatch.setenv("PROGTHEORY_FIGURES", str(tmp_path / "figures"))
    monkeypatch.setenv("MPLBACKEND", "Agg")
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


def test_theory_notebook_is_collected():
    assert any(p.name == "theory.ipynb" for p in NOTEBOOKS)
