"""Bad configs and run directories are refused before anything is written; configs round-trip."""

import json
from dataclasses import replace

import pytest

from progtheory import presets
from progtheory.config import (ConfigError, GrowthPlan, TrainConfig, depth_at, from_dict, override,
                               resolve_stages, run_id, to_dict, validate)
from progtheory.train.loop import train


@pytest.fixture
def tiny(corpus):
    return presets.tiny(str(corpus))


BAD = [
    ({"model.n_layer": -1}, "model.n_layer"),
    ({"model.n_embd": 30, "model.n_head": 4}, "model.n_head"),
    ({"schedule.kind": "triangle"}, "schedule.kind"),
    ({"optimizer": "adam"}, "optimizer"),
    ({"model.parametrization": "ntk"}, "model.parametrization"),
    ({"lr": 0.0}, "lr"),
    ({"lr": -1e-3}, "lr"),
    ({"schedule.warmup": 0.5, "schedule.decay": 0.6}, "schedule.warmup"),
    ({"batch_size": 0}, "batch_size"),
    ({"model.block_size": 0}, "model.block_size"),
    ({"steps": 0}, "steps"),
    ({"model.vocab_size": 300}, "model.vocab_size"),
    ({"data.tokenizer": "words"}, "data.tokenizer"),
    ({"device": "tpu"}, "device"),
]

# growth plans on the tiny run (40 steps, warmup 5% = 2 steps, decay 20% = the last 8 steps)
BAD_GROWTH = [
    (dict(source_depth=2, stages=((0.5, 2),)), "source"),           # source >= target
    (dict(source_depth=3, stages=((0.5, 2),)), "source"),
    (dict(stages=((0, 2),)), "tau"),                                 # tau = 0
    (dict(stages=((40, 2),)), "tau"),                                # tau = T
    (dict(stages=((55, 2),)), "tau"),                                # tau > T
    (dict(stages=((1, 2),)), "warmup or decay"),                     # inside the warmup
    (dict(stages=((36, 2),)), "warmup or decay"),                    # inside the decay
    (dict(init="grow_wide"), "growth.init"),                         # unknown strategy
    (dict(init="copy", source_depth=0), "growth.init"),              # copy from a 0-layer source
    (dict(init="copy_zero", source_depth=0), "growth.init"),
    (dict(stages=((0.5, 3),)), "model.n_layer"),                     # last stage != target depth
]


@pytest.mark.parametrize("changes, field", BAD, ids=[f for _, f in BAD])
def test_invalid_config_raises_naming_the_field_before_writing(tiny, tmp_path, changes, field):
    out = tmp_path / "run"
    with pytest.raises(ConfigError, match=field.replace(".", r"\.")):
        train(override(tiny, changes), out, quiet=True)
    assert not out.exists()


@pytest.mark.parametrize("plan, words", BAD_GROWTH, ids=[str(i) for i in range(len(BAD_GROWTH))])
def test_invalid_growth_plan_raises_before_writing(tiny, tmp_path, plan, words):
    out = tmp_path / "run"
    cfg = replace(tiny, growth=replace(GrowthPlan(stages=((0.5, 2),)), **plan))
    with pytest.raises(ConfigError, match=words):
        train(cfg, out, quiet=True)
    assert not out.exists()


def test_growth_inside_the_decay_phase_is_allowed_with_the_explicit_override(tiny):
    cfg = replace(tiny, growth=GrowthPlan(stages=((36, 2),), allow_outside_stable=True))
    assert validate(cfg) is cfg
    assert resolve_stages(cfg) == [(36, 2)] and depth_at(cfg, 35) == 0 and depth_at(cfg, 36) == 2


def test_missing_corpus_raises_before_writing(tiny, tmp_path):
    out = tmp_path / "run"
    with pytest.raises(ConfigError, match="data.corpus"):
        train(override(tiny, {"data.corpus": str(tmp_path / "no_such.txt")}), out, quiet=True)
    assert not out.exists()


def test_corpus_too_small_for_the_context_raises_before_writing(tiny, tmp_path):
    (tmp_path / "small.txt").write_text("too short\n")
    out = tmp_path / "run"
    with pytest.raises(ConfigError):
        train(override(tiny, {"data.corpus": str(tmp_path / "small.txt")}), out, quiet=True)
    assert not out.exists()


def _snapshot(folder):
    return {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in sorted(folder.iterdir())}


def test_existing_run_dir_without_resume_or_overwrite_is_refused_and_left_untouched(tiny, tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    (out / "config.json").write_text(json.dumps({"run_id": run_id(tiny)}))
    (out / "metrics.csv").write_text("run_id,step\nabc,0\n")
    before = _snapshot(out)
    with pytest.raises(ConfigError, match=r"already exists.*--resume.*--overwrite"):
        train(tiny, out, quiet=True)
    assert _snapshot(out) == before


def test_resuming_a_run_dir_of_another_config_is_refused_and_left_untouched(tiny, tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    (out / "config.json").write_text(json.dumps({"run_id": "0123456789"}))
    before = _snapshot(out)
    with pytest.raises(ConfigError, match="0123456789"):
        train(tiny, out, resume=True, quiet=True)
    assert _snapshot(out) == before


def test_resume_and_overwrite_together_are_refused(tiny, tmp_path):
    with pytest.raises(ConfigError, match="resume=True and overwrite=True"):
        train(tiny, tmp_path / "run", resume=True, overwrite=True, quiet=True)


def test_override_parses_values_and_keeps_everything_else():
    cfg = presets.default()
    new = override(cfg, {"model.n_layer": "8", "lr": "1e-3", "schedule.kind": "cosine"})
    assert new.model.n_layer == 8 and new.lr == 1e-3 and new.schedule.kind == "cosine"
    assert replace(new, model=cfg.model, lr=cfg.lr, schedule=cfg.schedule) == cfg


def test_override_of_an_unknown_field_raises_naming_it():
    with pytest.raises(ConfigError, match="model.depth"):
        override(presets.default(), {"model.depth": 3})


@pytest.mark.parametrize("cfg", [presets.default(), presets.demo()[1], presets.tiny(progressive=True)],
                         ids=["fixed", "demo-progressive", "tiny-progressive"])
def test_config_survives_a_json_round_trip_with_the_same_run_id(cfg):
    back = from_dict(json.loads(json.dumps(to_dict(cfg))))
    assert back == cfg and run_id(back) == run_id(cfg)


def test_run_id_changes_with_the_config_but_not_with_the_name():
    cfg = presets.default()
    assert run_id(replace(cfg, name="something else")) == run_id(cfg)
    assert run_id(override(cfg, {"seed": 1})) != run_id(cfg)
    assert len(run_id(cfg)) == 10


def test_tiny_preset_is_small_enough_for_tests():
    cfg = presets.tiny()
    m = cfg.model
    assert m.n_layer <= 2 and m.n_embd <= 64 and m.block_size <= 64 and cfg.batch_size <= 8 and cfg.steps <= 60
    assert cfg.data.tokenizer == "bytes" and m.vocab_size == 256


def test_demo_pair_differs_only_in_the_growth_plan():
    fixed, prog = presets.demo()
    assert isinstance(fixed, TrainConfig) and fixed.growth is None
    assert replace(prog, growth=None, name=fixed.name) == fixed
    assert prog.growth.source_depth == 0 and prog.growth.init == "random"
    assert resolve_stages(prog) == [(round(0.8 * fixed.steps), fixed.model.n_layer)]
    assert prog.schedule.kind == "wsd"


def test_every_named_preset_is_valid():
    for name in presets.PRESETS:
        assert validate(presets.get(name)) is not None
    with pytest.raises(ValueError, match="huge"):
        presets.get("huge")


def test_at_width_changes_the_width_and_heads_alone():
    base = presets.recipe()
    narrow = presets.at_width(base, 32)
    assert (narrow.model.n_embd, narrow.model.n_head, narrow.name) == (32, 4, "recipe-d32")
    assert replace(narrow, model=base.model, name=base.name) == base   # every other field kept
    assert replace(narrow.model, n_embd=base.model.n_embd, n_head=base.model.n_head) == base.model
    validate(narrow)


def test_budgeted_sets_the_steps_seed_schedule_and_checkpoints_of_a_budget_and_nothing_else():
    base = presets.at_width(presets.recipe(), 32)
    b = presets.budgeted(base, 40000, 2)
    assert (b.steps, b.seed, b.ckpt_every) == (40000, 2, 2000)                    # steps / 20
    assert (b.schedule.kind, b.schedule.warmup, b.schedule.decay) == ("wsd", 0.02, 0.1)
    assert presets.budgeted(base, 400000, 0).ckpt_every == 4000                    # at most 4,000
    assert presets.budgeted(base, 100, 0).ckpt_every == base.ckpt_every           # at least the config's
    assert presets.budgeted(base, 1000, 0, schedule="cosine").schedule.decay == 0.0
    assert presets.budgeted(base, 1000, 0, decay=0.5, weight_decay=0.3).weight_decay == 0.3
    assert replace(b, steps=base.steps, seed=base.seed, ckpt_every=base.ckpt_every, schedule=base.schedule) == base
    validate(b)


def test_grown_sets_the_growth_plan_alone_and_progressive_renames_it():
    base = presets.at_width(presets.recipe(), 32)
    g = presets.grown(base, 1, 0.8, "random", old_blocks="rescale")
    assert (g.growth.source_depth, g.growth.stages, g.growth.init, g.growth.old_blocks) == \
        (1, ((0.8, base.model.n_layer),), "random", "rescale")
    assert replace(g, growth=None) == base and g.name == base.name
    assert presets.progressive(base, 1, 0.8, "random") == replace(presets.grown(base, 1, 0.8, "random"),
                                                                   name=base.name + "-progressive")
    validate(g)
