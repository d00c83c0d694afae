"""Token-file corpora: a folder of train.bin/val.bin uint16 ids (nanoGPT's prepare.py layout)."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from progtheory import presets
from progtheory.config import ConfigError, DataConfig
from progtheory.data import get_batch, is_token_folder, load_token_files, prepare_data
from progtheory.train.loop import train
from progtheory.train.metrics import read_metrics


def write_token_files(folder, vocab_size=97, n_train=4000, n_val=600, seed=0):
    """Random ids below `vocab_size` written as nanoGPT does: np.uint16 arrays, `tofile`."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    train = rng.integers(0, vocab_size, n_train).astype(np.uint16)
    val = rng.integers(0, vocab_size, n_val).astype(np.uint16)
    train.tofile(folder / "train.bin")
    val.tofile(folder / "val.bin")
    return train, val


def test_token_files_are_memory_mapped_and_read_back_exactly(tmp_path):
    train, val = write_token_files(tmp_path / "corpus")
    data = prepare_data(DataConfig(corpus=str(tmp_path / "corpus")), 97)
    assert isinstance(data.train, np.memmap) and isinstance(data.val, np.memmap)
    assert np.array_equal(data.train, train) and np.array_equal(data.val, val)
    assert data.meta["n_tokens"] == {"train": train.size, "val": val.size}
    assert data.tokenizer is None and data.vocab_size == 97


def test_a_text_folder_is_not_taken_for_token_files(corpus):
    assert not is_token_folder(str(corpus)) and not is_token_folder("default")


def test_batches_come_from_the_token_file(tmp_path):
    train, _ = write_token_files(tmp_path / "corpus")
    data = load_token_files(tmp_path / "corpus", 97)
    x, y = get_batch(data.train, 4, 16, seed=0, step=3)
    starts = [int(np.flatnonzero(np.all(np.lib.stride_tricks.sliding_window_view(train, 16) == row, axis=1))[0])
              for row in x]
    assert all(np.array_equal(y[i], train[s + 1:s + 17]) for i, s in enumerate(starts))


def test_unigram_baseline_of_uniform_ids_is_close_to_log_vocab(tmp_path):
    write_token_files(tmp_path / "corpus", vocab_size=97, n_train=20000, n_val=5000)
    data = load_token_files(tmp_path / "corpus", 97)
    # 20k draws over 97 ids: the fitted unigram is within a few percent of uniform
    assert data.meta["unigram_xent_val"] == pytest.approx(math.log(97), rel=0.01)


def test_the_scan_is_cached_and_redone_when_a_file_changes(tmp_path):
    write_token_files(tmp_path / "corpus")
    assert not load_token_files(tmp_path / "corpus", 97, cache_dir=tmp_path / "cache").from_cache
    assert load_token_files(tmp_path / "corpus", 97, cache_dir=tmp_path / "cache").from_cache
    np.array([5000, 1], dtype=np.uint16).tofile(tmp_path / "corpus" / "val.bin")
    with pytest.raises(ConfigError, match="token id 5000"):
        load_token_files(tmp_path / "corpus", 97, cache_dir=tmp_path / "cache")


def test_an_odd_byte_count_is_refused_with_the_fix(tmp_path):
    write_token_files(tmp_path / "corpus")
    with open(tmp_path / "corpus" / "train.bin", "ab") as f:
        f.write(b"\x01")
    with pytest.raises(ConfigError, match=r"train\.bin has 8001 bytes, an odd count.*np\.uint16"):
        load_token_files(tmp_path / "corpus", 97)


def test_an_id_beyond_the_vocabulary_names_the_size_to_set(tmp_path):
    write_token_files(tmp_path / "corpus", vocab_size=97)
    with pytest.raises(ConfigError, match=r"token id 96, beyond model.vocab_size=90; set model.vocab_size to at least 97"):
        load_token_files(tmp_path / "corpus", 90)


@pytest.mark.parametrize("missing", ["train.bin", "val.bin"])
def test_a_missing_split_is_named(tmp_path, missing):
    write_token_files(tmp_path / "corpus")
    (tmp_path / "corpus" / missing).unlink()
    with pytest.raises(ConfigError, match=f"has no {missing}"):
        prepare_data(DataConfig(corpus=str(tmp_path / "corpus")), 97)


def test_an_empty_split_is_refused(tmp_path):
    write_token_files(tmp_path / "corpus")
    (tmp_path / "corpus" / "val.bin").write_bytes(b"")
    with pytest.raises(ConfigError, match=r"val\.bin is empty"):
        load_token_files(tmp_path / "corpus", 97)


def test_training_on_token_files_checks_the_configured_vocabulary(tmp_path):
    write_token_files(tmp_path / "corpus", vocab_size=300)
    cfg = presets.tiny(corpus=str(tmp_path / "corpus"))
    cfg = replace(cfg, steps=4, eval_every=2, data=replace(cfg.data, tokenizer="bpe"),
                  model=replace(cfg.model, vocab_size=257))
    with pytest.raises(ConfigError, match="model.vocab_size=257"):
        train(cfg, tmp_path / "bad", quiet=True)
    assert not (tmp_path / "bad").exists()
    ok = replace(cfg, model=replace(cfg.model, vocab_size=300))
    summary = train(ok, tmp_path / "run", quiet=True)
    assert summary["status"] == "completed" and len(read_metrics(tmp_path / "run")) == 4
