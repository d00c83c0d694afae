"""The public names users and checks rely on resolve and work together."""

import pytest

import progtheory


@pytest.mark.parametrize("name", progtheory.__all__)
def test_every_exported_name_resolves(name):
    assert getattr(progtheory, name) is not None


def test_public_names_build_count_and_train_a_model(tmp_path, corpus):
    cfg = progtheory.GPTConfig(vocab_size=256, block_size=16, n_layer=2, n_head=2, n_embd=32)
    model = progtheory.GPT(cfg)
    assert progtheory.param_count(cfg) == model.num_params()
    assert progtheory.flops_per_token(cfg, convention="6N") == 6 * model.num_params()
    assert progtheory.flops_per_token(cfg, depth=0) < progtheory.flops_per_token(cfg)
    grown = progtheory.GPT(cfg, depth=1)
    progtheory.expand(grown, 2, init="zero")
    assert grown.depth == 2
    run = progtheory.TrainConfig(model=cfg, data=progtheory.DataConfig(corpus=str(corpus), tokenizer="bytes",
                                                                       val_fraction=0.2),
                                 steps=3, batch_size=2, eval_every=3, eval_batches=1, device="cpu")
    summary = progtheory.train(run, tmp_path / "run", quiet=True)
    assert summary["status"] == "completed" and summary["steps_done"] == 3
    assert progtheory.predict_lr(4, base_depth=4, base_lr=1e-3, parametrization="sp", optimizer="adamw") == 1e-3


def test_unknown_attribute_raises_attribute_error():
    with pytest.raises(AttributeError, match="no_such_name"):
        progtheory.no_such_name
