"""Token data: a document-level train/validation split, tokenized once and cached as memmaps.

    data = prepare_data(cfg.data, cfg.model.vocab_size)
    x, y = get_batch(data.train, batch_size=16, block_size=256, seed=0, step=t)
    val = eval_batches(data.val, 16, 256, n_batches=20, seed=0)

Split.  Each document gets a key u = sha256(f"{split_seed}:{doc.id}") read as a number in
[0, 1).  Within each source, documents are taken into validation in increasing u until they
hold about `val_fraction` of that source's characters.  The split is therefore random with
respect to time (never a chronological tail), has the training mix of sources, is fixed by
(split_seed, ids), and adding a document moves at most the documents at the boundary.

Streams.  Each split's documents, in id order, are encoded and concatenated with the
tokenizer's separator after every document.

Cache.  `<cache_dir>/tokens/<key>/{train.bin, val.bin, meta.json}`, where key hashes the
corpus fingerprint, tokenizer kind, vocab size, split parameters and FORMAT_VERSION.  Files
are written to temporary names and renamed, and meta.json last, so an interrupted build
leaves no file that a later call would trust.  The trained BPE is cached under
`<cache_dir>/tokenizers/`.  `cache_dir` defaults to $PROGTHEORY_CACHE or ~/.cache/progtheory.

Token files.  A corpus folder holding `train.bin` and `val.bin` (raw little-endian uint16
token ids, the layout nanoGPT's `data/*/prepare.py` writes) is used as is: both files are
memory-mapped, nothing is split or tokenized, and `data.tokenizer` plays no part.  One pass
over each file checks that every id is below `model.vocab_size` and counts the unigram
baselines; its result is cached under `<cache_dir>/tokenfiles/`, keyed by path, size and
modification time, so later runs start at once.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from progtheory.config import ConfigError, DataConfig
from progtheory.data.corpus import Document, corpus_fingerprint, load_corpus
from progtheory.data.tokenizer import Tokenizer, default_cache_dir, get_tokenizer

FORMAT_VERSION = 1
_ENCODE_CHUNK = 32          # documents per encode_batch call (progress granularity)


@dataclass(frozen=True, eq=False)
class TokenData:
    """Tokenized splits.  `train`/`val` are read-only memmaps of token ids."""

    train: np.ndarray
    val: np.ndarray
    vocab_size: int
    tokenizer: Tokenizer | None      # None for token files, which come already encoded
    meta: dict = field(repr=False)
    from_cache: bool = False


# ----------------------------------------------------------------------------- split

def _split_key(split_seed: int, doc_id: str) -> float:
    digest = hashlib.sha256(f"{split_seed}:{doc_id}".encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2.0 ** 64


def _hash_prefix(docs: list[Document], target: float, split_seed: int) -> list[Document]:
    """The prefix of `docs` in hash-key order whose character count is closest to `target`
    (possibly empty), never all of `docs`."""
    order = sorted(docs, key=lambda d: (_split_key(split_seed, d.id), d.id))
    taken, chars = [], 0
    for d in order[:-1]:
        if abs(chars + len(d.text) - target) > abs(chars - target):
            break
        taken.append(d)
        chars += len(d.text)
    return taken


def split_documents(docs: list[Document], val_fraction: float,
                    split_seed: int = 0) -> tuple[list[Document], list[Document]]:
    """(train, val), each sorted by id; val holds about `val_fraction` of the characters.

    Stratified by `Document.source`: within each source, validation is the prefix of its
    documents in hash-key order (module docstring) whose character count is closest to
    `val_fraction` of that source's characters, so validation mirrors the training mix.
    When that leaves validation empty (every source too small), the document with the
    smallest key goes to validation.  Both splits always get >= 1 document.
    """
    if not 0 < val_fraction < 1:
        raise ConfigError(f"val_fraction={val_fraction} must lie in (0, 1)")
    if len(docs) < 2:
        raise ConfigError(f"the corpus has {len(docs)} document(s); a train/val split needs at least 2. "
                          f"Use a longer text file or a folder with more .txt files")
    ids = [d.id for d in docs]
    if len(set(ids)) != len(ids):
        raise ConfigError("document ids are not unique; give every document its own id")
    by_source: dict[str, list[Document]] = {}
    for d in docs:
        by_source.setdefault(d.source, []).append(d)
    val_ids = {d.id for group in by_source.values()
               for d in _hash_prefix(group, val_fraction * sum(len(x.text) for x in group), split_seed)}
    if not val_ids:
        val_ids = {min(docs, key=lambda d: (_split_key(split_seed, d.id), d.id)).id}
    train = sorted((d for d in docs if d.id not in val_ids), key=lambda d: d.id)
    val = sorted((d for d in docs if d.id in val_ids), key=lambda d: d.id)
    return train, val


# ----------------------------------------------------------------------------- prepare

def _token_dtype(vocab_size: int):
    return np.uint16 if vocab_size <= 2 ** 16 else np.uint32


def cache_key(fingerprint: str, data_cfg: DataConfig, vocab_size: int, tokenizer_name: str,
              val_ids: list[str]) -> str:
    """Hash of everything the token files depend on, the realised split and tokenizer included
    (so a change of split rule or a retrained BPE can never reuse stale files)."""
    blob = json.dumps({"format": FORMAT_VERSION, "corpus": fingerprint, "tokenizer": data_cfg.tokenizer,
                       "tokenizer_name": tokenizer_name, "vocab_size": vocab_size,
                       "val_fraction": data_cfg.val_fraction, "split_seed": data_cfg.split_seed,
                       "val_ids": sorted(val_ids)}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def prepare_data(data_cfg: DataConfig, vocab_size: int, *, cache_dir: Path | str | None = None,
                 progress: bool = False) -> TokenData:
    """Load the corpus, split it by document, tokenize both splits, cache, and memmap them.

    A second call with the same corpus, tokenizer, vocab size and split parameters reads the
    cache; a change to any of them (e.g. one edited document) builds a new entry.
    """
    cache = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
    if is_token_folder(data_cfg.corpus):
        return load_token_files(data_cfg.corpus, vocab_size, cache_dir=cache)
    docs = load_corpus(data_cfg.corpus)
    fingerprint = corpus_fingerprint(docs)
    train_docs, val_docs = split_documents(docs, data_cfg.val_fraction, data_cfg.split_seed)
    tokenizer = get_tokenizer(data_cfg.tokenizer, vocab_size, [d.text for d in train_docs],
                              cache / "tokenizers")
    folder = cache / "tokens" / cache_key(fingerprint, data_cfg, vocab_size, tokenizer.name,
                                          [d.id for d in val_docs])
    dtype = _token_dtype(vocab_size)

    meta = _read_meta(folder)
    from_cache = meta is not None
    if meta is None:
        folder.mkdir(parents=True, exist_ok=True)
        n_tokens = {}
        for split, split_docs in (("train", train_docs), ("val", val_docs)):
            stream = _encode(tokenizer, split_docs, dtype, progress, split)
            _atomic_write(folder / f"{split}.bin", stream.tobytes())
            n_tokens[split] = int(stream.size)
        meta = _describe(data_cfg, vocab_size, tokenizer, fingerprint, train_docs, val_docs, n_tokens)
        meta.update(_unigram_stats(np.fromfile(folder / "train.bin", dtype=dtype),
                                   np.fromfile(folder / "val.bin", dtype=dtype), vocab_size))
        _atomic_write(folder / "meta.json", json.dumps(meta, indent=1, sort_keys=True).encode())

    train = np.memmap(folder / "train.bin", dtype=dtype, mode="r")
    val = np.memmap(folder / "val.bin", dtype=dtype, mode="r")
    return TokenData(train, val, vocab_size, tokenizer, meta, from_cache)


def _read_meta(folder: Path) -> dict | None:
    """meta.json of a complete cache entry (both .bin files of the recorded length), else None."""
    try:
        meta = json.loads((folder / "meta.json").read_text())
        itemsize = np.dtype(meta["dtype"]).itemsize
        for split in ("train", "val"):
            if (folder / f"{split}.bin").stat().st_size != meta["n_tokens"][split] * itemsize:
                return None
        return meta if meta.get("format") == FORMAT_VERSION else None
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _encode(tokenizer: Tokenizer, docs: list[Document], dtype, progress: bool, split: str) -> np.ndarray:
    chunks = range(0, len(docs), _ENCODE_CHUNK)
    if progress:
        from tqdm import tqdm
        chunks = tqdm(chunks, desc=f"tokenizing {split} ({tokenizer.name})", unit="chunk")
    parts = [tokenizer.encode_stream([d.text for d in docs[i:i + _ENCODE_CHUNK]], dtype=dtype)
             for i in chunks]
    return np.concatenate(parts) if parts else np.zeros(0, dtype=dtype)


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _describe(data_cfg: DataConfig, vocab_size: int, tokenizer: Tokenizer, fingerprint: str,
              train_docs: list[Document], val_docs: list[Document], n_tokens: dict) -> dict:
    n_bytes_val = sum(len(d.text.encode("utf-8")) for d in val_docs)
    return {
        "format": FORMAT_VERSION,
        "corpus": data_cfg.corpus,
        "corpus_fingerprint": fingerprint,
        "tokenizer": tokenizer.name,
        "tokenizer_kind": data_cfg.tokenizer,
        "vocab_size": vocab_size,
        "eot_id": tokenizer.eot_id,
        "dtype": np.dtype(_token_dtype(vocab_size)).name,
        "val_fraction": data_cfg.val_fraction,
        "split_seed": data_cfg.split_seed,
        "n_docs": {"train": len(train_docs), "val": len(val_docs)},
        "n_chars": {"train": sum(len(d.text) for d in train_docs), "val": sum(len(d.text) for d in val_docs)},
        "n_tokens": dict(n_tokens),
        "val_doc_ids": [d.id for d in val_docs],
        # separators included in the token count, as the model predicts them too
        "bytes_per_token_val": n_bytes_val / max(n_tokens["val"], 1),
    }


def _unigram_stats(train: np.ndarray, val: np.ndarray, vocab_size: int) -> dict:
    """Baselines in nats/token for a model that ignores context.

    Add-one smoothed unigram p(v) = (c_v + 1) / (N + V) fitted on the train stream;
    `unigram_xent_val` = -mean_val log p(x) is the loss a trained model must beat, and
    ln V (uniform) is the loss at initialisation.  `unigram_entropy_train` is the plug-in
    entropy of the train stream's unigram distribution.
    """
    return _unigram_stats_from_counts(np.bincount(train, minlength=vocab_size).astype(np.float64),
                                      np.bincount(val, minlength=vocab_size).astype(np.float64), vocab_size)


def _unigram_stats_from_counts(counts: np.ndarray, val_counts: np.ndarray, vocab_size: int) -> dict:
    """`_unigram_stats` from id counts of each split (arrays of length <= vocab_size)."""
    counts = np.pad(counts, (0, vocab_size - counts.size))
    val_counts = np.pad(val_counts, (0, vocab_size - val_counts.size))
    logp = np.log(counts + 1.0) - math.log(counts.sum() + vocab_size)
    freq = counts[counts > 0] / counts.sum()
    return {
        "unigram_xent_val": float(-(val_counts @ logp) / max(val_counts.sum(), 1.0)),
        "unigram_entropy_train": float(-(freq * np.log(freq)).sum()),
        "uniform_xent": math.log(vocab_size),
    }


# ----------------------------------------------------------------------------- token files

TOKEN_FILES = ("train.bin", "val.bin")
TOKEN_FILE_DTYPE = np.dtype("<u2")       # nanoGPT's prepare.py: np.uint16, native little-endian
_SCAN_CHUNK = 1 << 24                    # tokens per chunk of the one-off scan (32 MiB)


def is_token_folder(corpus: str) -> bool:
    """True when `corpus` is a folder holding train.bin or val.bin (a token-file corpus)."""
    if corpus == "default":
        return False
    folder = Path(corpus).expanduser()
    return folder.is_dir() and any((folder / name).exists() for name in TOKEN_FILES)


def load_token_files(folder, vocab_size: int, *, cache_dir: Path | str | None = None) -> TokenData:
    """Memory-map `folder/train.bin` and `folder/val.bin` (uint16 token ids) as a TokenData.

    Raises ConfigError, naming the file and the fix, when a split is missing or empty, when
    a file's byte count is odd (not a whole number of uint16 ids), when it holds int32 ids
    (`_check_not_wider_ids`), or when an id is
    >= `vocab_size` (the model's embedding table would be indexed out of range).  The
    unigram baselines of `_unigram_stats` are computed in the same pass.
    """
    folder = Path(folder).expanduser()
    if vocab_size < 1:
        raise ConfigError(f"model.vocab_size={vocab_size} must be >= 1")
    for name in TOKEN_FILES:
        path = folder / name
        if not path.is_file():
            raise ConfigError(f"token-file corpus {folder} has no {name}; write both train.bin and val.bin "
                              f"(uint16 token ids, as nanoGPT's prepare.py does) or point data.corpus elsewhere")
        size = path.stat().st_size
        if size == 0:
            raise ConfigError(f"{path} is empty; the {name[:-4]} split needs token ids")
        if size % TOKEN_FILE_DTYPE.itemsize:
            raise ConfigError(f"{path} has {size} bytes, an odd count, so it is not a file of uint16 token ids; "
                              f"rewrite it with np.array(ids, dtype=np.uint16).tofile(...)")
    train, val = (np.memmap(folder / name, dtype=TOKEN_FILE_DTYPE, mode="r") for name in TOKEN_FILES)
    for name, tokens in zip(TOKEN_FILES, (train, val)):
        _check_not_wider_ids(folder / name, tokens)
    cache = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
    scan = _scan_token_files(folder, train, val, cache / "tokenfiles")
    for name, top in zip(TOKEN_FILES, scan["max_id"]):
        if top >= vocab_size:
            raise ConfigError(f"{folder / name} holds token id {top}, beyond model.vocab_size={vocab_size}; "
                              f"set model.vocab_size to at least {top + 1} (the tokenizer's vocabulary; GPT-2 "
                              f"ids: --set data.tokenizer=gpt2 --set model.vocab_size=50257, others: "
                              f"data.tokenizer=bpe, which token files do not use)")
    counts_train, counts_val = (np.asarray(c, dtype=np.float64) for c in scan["counts"])
    meta = {"format": FORMAT_VERSION, "corpus": str(folder), "tokenizer": "token files",
            "vocab_size": vocab_size, "dtype": TOKEN_FILE_DTYPE.name, "eot_id": None,
            "n_tokens": {"train": int(train.size), "val": int(val.size)},
            **_unigram_stats_from_counts(counts_train[:vocab_size], counts_val[:vocab_size], vocab_size)}
    return TokenData(train, val, vocab_size, None, meta, from_cache=scan["from_cache"])


WIDE_ID_SAMPLE = 1 << 16  # uint16 slots looked at by `_check_not_wider_ids`
WIDE_ID_MIN_ODD = 64      # fewer odd slots than this are too few to tell


def _check_not_wider_ids(path: Path, tokens: np.ndarray) -> None:
    """Refuse a file of int32 (or int64) ids: read as little-endian uint16, ids below 65536
    leave the high half of every id, i.e. every odd slot, zero.  The first WIDE_ID_SAMPLE
    slots are looked at; a uint16 file whose odd slots there are all 0 while its even ones
    are not is not a corpus anyone would train on."""
    head = np.asarray(tokens[:WIDE_ID_SAMPLE - WIDE_ID_SAMPLE % 2])
    odd, even = head[1::2], head[0::2]
    if len(odd) >= WIDE_ID_MIN_ODD and not odd.any() and even.any():
        raise ConfigError(f"{path} looks like int32 (or int64) token ids, not uint16: every odd uint16 slot of its "
                          f"first {len(head)} is 0; rewrite it with np.asarray(ids, dtype=np.uint16).tofile(...) "
                          f"(nanoGPT's prepare.py layout)")


def _scan_token_files(folder: Path, train: np.ndarray, val: np.ndarray, cache: Path) -> dict:
    """Largest id and id counts of each split, read in chunks; cached by path, size, mtime."""
    stats = [(folder / n).resolve().stat() for n in TOKEN_FILES]
    key = hashlib.sha256(json.dumps([str(folder.resolve()), FORMAT_VERSION,
                                     [(s.st_size, s.st_mtime_ns) for s in stats]]).encode()).hexdigest()[:16]
    path = cache / f"{key}.json"
    try:
        return {**json.loads(path.read_text()), "from_cache": True}
    except (OSError, ValueError):
        pass
    out = {"max_id": [], "counts": []}
    for tokens in (train, val):
        counts = np.zeros(1 << 16, dtype=np.int64)
        for i in range(0, tokens.size, _SCAN_CHUNK):
            counts += np.bincount(tokens[i:i + _SCAN_CHUNK], minlength=1 << 16)
        used = np.flatnonzero(counts)
        out["max_id"].append(int(used[-1]))
        out["counts"].append(counts[:used[-1] + 1].tolist())
    cache.mkdir(parents=True, exist_ok=True)
    _atomic_write(path, json.dumps(out).encode())
    return {**out, "from_cache": False}


# ----------------------------------------------------------------------------- batches

def _check_windows(tokens: np.ndarray, batch_size: int, block_size: int) -> None:
    if batch_size < 1 or block_size < 1:
        raise ConfigError(f"batch_size={batch_size} and block_size={block_size} must both be >= 1")
    if len(tokens) < block_size + 1:
        raise ConfigError(f"the split has {len(tokens)} tokens, fewer than block_size+1={block_size + 1}; "
                          f"lower model.block_size, raise data.val_fraction, or use a larger corpus")


def _windows(tokens: np.ndarray, starts: np.ndarray, block_size: int) -> tuple[np.ndarray, np.ndarray]:
    idx = starts[:, None] + np.arange(block_size + 1)[None, :]
    w = np.asarray(tokens[idx], dtype=np.int64)
    return w[:, :-1], w[:, 1:]


def get_batch(tokens: np.ndarray, batch_size: int, block_size: int, *, seed: int,
              step: int) -> tuple[np.ndarray, np.ndarray]:
    """(x, y) int64 arrays of shape (batch_size, block_size); y is x shifted by one token.

    Window starts are uniform on [0, len(tokens) - block_size - 1], drawn from a generator
    seeded by (seed, step) alone, so a resumed run needs no data-RNG state.
    """
    _check_windows(tokens, batch_size, block_size)
    if seed < 0 or step < 0:
        raise ConfigError(f"seed={seed} and step={step} must be >= 0")
    rng = np.random.default_rng([seed, step])
    starts = rng.integers(0, len(tokens) - block_size, size=batch_size)
    return _windows(tokens, starts, block_size)


def eval_batches(tokens: np.ndarray, batch_size: int, block_size: int, n_batches: int, *,
                 seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """`n_batches` fixed (x, y) batches that cover the split evenly.

    The range of window starts is cut into batch_size * n_batches equal strata and one start
    is drawn uniformly in each (generator seeded by `seed`), so every part of the split is
    evaluated and the same arguments always give the same windows.
    """
    _check_windows(tokens, batch_size, block_size)
    if n_batches < 1:
        raise ConfigError(f"n_batches={n_batches} must be >= 1")
    n = batch_size * n_batches
    span = len(tokens) - block_size            # starts lie in [0, span)
    rng = np.random.default_rng([seed, 2 ** 32 - 1])
    edges = np.arange(n + 1) * span / n
    starts = np.minimum((edges[:-1] + rng.random(n) * (edges[1:] - edges[:-1])).astype(np.int64), span - 1)
    return [_windows(tokens, starts[i * batch_size:(i + 1) * batch_size], block_size)
            for i in range(n_batches)]
