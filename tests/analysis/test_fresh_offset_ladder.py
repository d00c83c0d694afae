"""The fresh-start gap model on the ladder (`analysis.fresh_offset`) with a stand-in fixed law."""

import numpy as np
import pandas as pd
import pytest

from progtheory.analysis import fresh_offset as FO
from progtheory.theory.loss_laws import OffsetLaw


class _Law:
    """A fixed-size 'law' whose final loss is 1 + 100 / (steps trained): enough to check the plumbing."""

    def predict(self, steps, eta, at=None):
        return np.full(len(steps) if at is None else len(at), 1.0 + 100.0 / len(steps))


def test_predict_adds_the_offset_to_the_fresh_start_and_pairs_with_the_fixed_run():
    model = {"law": _Law(), (0, "random"): OffsetLaw(0.02, 0.0, 1.0), (1, "copy"): OffsetLaw(0.1, -0.2, 1.0)}
    p = FO.predict(model, 10000, 0.8)  # S = 2,000 steps after tau
    assert p["fixed"] == pytest.approx(1.01)
    fresh = 1.0 + 100.0 / 2000
    assert p[(0, "random")][0] == pytest.approx(fresh + 0.02)
    assert p[(1, "copy")][0] == pytest.approx(fresh + 0.1 - 0.2 / 2)
    assert p[(1, "copy")][1] == pytest.approx(100 * (p[(1, "copy")][0] / 1.01 - 1))


def test_a_statement_is_written_once(tmp_path, monkeypatch):
    path = tmp_path / "stated.csv"
    monkeypatch.setattr(FO, "statement", lambda **kw: pd.DataFrame({"quantity": ["fixed_loss"], "predicted": [1.0]}))
    FO.write_statement(path)
    with pytest.raises(FileExistsError, match="stated once"):
        FO.write_statement(path)
    assert pd.read_csv(path).predicted.tolist() == [1.0]
