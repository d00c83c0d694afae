"""Offline real-English corpus, tokenizers and the token-data pipeline (numpy; no torch).

    from progtheory.data import prepare_data, get_batch, eval_batches
    data = prepare_data(cfg.data, cfg.model.vocab_size)   # cached after the first call
    x, y = get_batch(data.train, 16, 256, seed=cfg.seed, step=t)

A folder holding train.bin/val.bin of uint16 ids (nanoGPT's layout) is read by memory map.
"""

from progtheory.data.corpus import Document, corpus_fingerprint, load_corpus
from progtheory.data.dataset import (
    TokenData, eval_batches, get_batch, is_token_folder, load_token_files, prepare_data, split_documents,
)
from progtheory.data.tokenizer import Tokenizer, default_cache_dir, get_tokenizer

__all__ = [
    "Document", "TokenData", "Tokenizer", "corpus_fingerprint", "default_cache_dir", "eval_batches",
    "get_batch", "get_tokenizer", "is_token_folder", "load_corpus", "load_token_files", "prepare_data",
    "split_documents",
]
