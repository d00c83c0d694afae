"""Block ablation on a tiny GPT (progtheory.train.ablation)."""

import pytest

torch = pytest.importorskip("torch")

from progtheory.config import GPTConfig  # noqa: E402
from progtheory.core.model import GPT  # noqa: E402
from progtheory.train.ablation import block_ablation  # noqa: E402


def _model():
    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=32, block_size=16, n_layer=3, n_head=2, n_embd=16, base_width=16), depth=3)
    with torch.no_grad():  # block 1 adds nothing: both output projections zero
        for lin in (model.blocks[1].attn.c_proj, model.blocks[1].mlp.c_proj):
            lin.weight.zero_()
            lin.bias.zero_()
    x = torch.randint(0, 32, (4, 16), generator=torch.Generator().manual_seed(1))
    return model, [(x[:, :-1], x[:, 1:])]


def test_a_block_that_adds_nothing_costs_nothing_and_the_others_are_measured():
    model, batches = _model()
    out = block_ablation(model, batches)
    with torch.no_grad():
        assert out["loss"] == pytest.approx(float(model(*batches[0])[1]))
    assert out["ablation"][1] == 0.0
    assert out["ablation"][0] != 0.0 and out["ablation"][2] != 0.0


def test_the_model_is_left_as_it_was():
    model, batches = _model()
    blocks = list(model.blocks)
    model.train()
    block_ablation(model, batches)
    assert list(model.blocks) == blocks and model.training


def test_final_states_yield_only_runs_checkpointed_at_their_last_step_and_name_the_others(tmp_path):
    import csv
    import json

    from progtheory.config import TrainConfig, to_dict
    from progtheory.train.checkpoint import final_model, final_states

    model, _ = _model()
    cfg = TrainConfig(model=model.cfg)
    rows = [dict(run_id="done", steps="40", final_val_loss="1.5"), dict(run_id="cut", steps="40", final_val_loss=""),
            dict(run_id="gone", steps="40", final_val_loss="1.6")]
    for rid, step in (("done", 40), ("cut", 20)):
        (tmp_path / rid).mkdir()
        torch.save({"depth": 3, "model": model.state_dict(), "counters": {"step": step}}, tmp_path / rid / "ckpt.pt")
        (tmp_path / rid / "config.json").write_text(json.dumps({**to_dict(cfg), "run_id": rid}))
    table = tmp_path / "runs.csv"
    with open(table, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    left_out = {}
    found = list(final_states(table, tmp_path, left_out))
    assert [(r["run_id"], d.name, s["counters"]["step"]) for r, d, s in found] == [("done", "done", 40)]
    assert left_out == {"cut": "checkpoint at step 20 of 40", "gone": "no checkpoint"}
    loaded_cfg, loaded = final_model(found[0][1], found[0][2])
    assert loaded_cfg.model == model.cfg and loaded.depth == 3
    assert all(torch.equal(a, b) for a, b in zip(loaded.state_dict().values(), model.state_dict().values()))


def test_final_states_pass_over_the_runs_to_skip_without_loading_them(tmp_path):
    from progtheory.train.checkpoint import final_states

    (tmp_path / "runs.csv").write_text("run_id,steps,final_val_loss\nskipped,40,1.5\n")
    (tmp_path / "skipped").mkdir()
    (tmp_path / "skipped" / "ckpt.pt").write_bytes(b"not a checkpoint")   # loading it raises
    left_out = {}
    assert list(final_states(tmp_path / "runs.csv", tmp_path, left_out, skip=frozenset({"skipped"}))) == []
    assert left_out == {}
    with pytest.raises(Exception):
        list(final_states(tmp_path / "runs.csv", tmp_path, left_out))
