"""Offline real-English corpus, tokenizers and the token-data pipeline (numpy; no torch).

    from progtheory.data import prepare_data, get_batch, eval_batches
    data = prepare_data(cfg.data, cfg.model.vocab_size)   # cached after the first call
    x, y = get_batch(data.train, 16, 256, seed=cfg.seed, step=t)
"""

from progtheory.data.corpus import Document, corpus_fingerprint, load_corpus
from progtheory.data.dataset import TokenData, eval_batches, get_batch, prepare_data, split_documents
from progtheory.data.tokenizer import Tokenizer, default_cache_dir, get_tokenizer

__all__ = [
    "Document", "TokenData", "Tokenizer", "corpus_fingerprint", "default_cache_dir", "eval_batches",
    "get_batch", "get_tokenizer", "load_corpus", "prepare_data", "split_documents",
]
