"""Checks of a run's device, memory and corpus, made before anything is written."""

from __future__ import annotations

import os
from pathlib import Path

import torch

from progtheory.config import ConfigError, TrainConfig
from progtheory.theory import compute


def resolve_device(device: str) -> str:
    """"auto" -> "cuda" when available, else "cpu"; "cuda" without a GPU is a ConfigError."""
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device='cuda' but torch sees no CUDA device; set device=auto or device=cpu")
    return device


def memory_estimate(cfg: TrainConfig) -> dict[str, int]:
    """Bytes a training step of `cfg` needs at its final depth, as an order of magnitude.

    Assumptions: fp32 tensors (4 bytes); weights, gradients and two Adam moments
    (16 bytes per parameter); per layer and token about 16 d + 2 n_head T activations kept for
    the backward pass (the QKV, attention output, MLP hidden 4d and residuals, plus the
    attention probabilities), after Korthikanti et al. 2022, "Reducing activation
    recomputation", eq. 2 without dropout masks; logits and their gradient (3 V per token);
    the token batches (int64 inputs and targets) of one training and `eval_batches`
    validation batches.  Returns {"params", "activations", "batches", "total"} in bytes.
    """
    m = cfg.model
    tokens = cfg.batch_size * m.block_size
    params = 16 * compute.param_count(m, depth=m.n_layer)
    acts = 4 * tokens * (m.n_layer * (16 * m.n_embd + 2 * m.n_head * m.block_size) + 3 * m.vocab_size)
    batches = 16 * tokens * (1 + cfg.eval_batches)
    return {"params": params, "activations": acts, "batches": batches, "total": params + acts + batches}


def check_memory(cfg: TrainConfig, device: str) -> dict:
    """Refuse a config whose estimated training memory (`memory_estimate`) exceeds the
    device's total memory, before anything is allocated; return the estimate."""
    est = memory_estimate(cfg)
    if device.startswith("cuda"):
        limit = torch.cuda.get_device_properties(torch.device(device)).total_memory
    else:
        limit = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    if est["total"] > limit:
        gib = 2.0**30
        raise ConfigError(
            f"batch_size={cfg.batch_size} x model.block_size={cfg.model.block_size} needs about "
            f"{est['total'] / gib:,.1f} GiB (weights and optimizer {est['params'] / gib:,.1f}, activations "
            f"{est['activations'] / gib:,.1f}, token batches {est['batches'] / gib:,.1f}), more than the "
            f"{limit / gib:,.1f} GiB of {device} memory; lower batch_size, model.block_size or the model size")
    return est


def load_data(cfg: TrainConfig, quiet: bool):
    """Load the corpus through `progtheory.data`; raise ConfigError for a missing or bad corpus."""
    from progtheory import data as D

    corpus = cfg.data.corpus
    if corpus != "default" and not Path(corpus).exists():
        raise ConfigError(f"data.corpus={corpus!r} does not exist; give a .txt file or a folder of "
                          f".txt files, or 'default' for the embedded corpus")
    try:
        data = D.prepare_data(cfg.data, cfg.model.vocab_size, progress=not quiet)
    except ConfigError:
        raise
    except ImportError as e:
        hint = str(e) if "pip install" in str(e) else (f"{e.name or e}; install it with pip install "
                                                        f"'progtheory[gpt2]' or use data.tokenizer=bytes or bpe")
        raise ConfigError(f"data.tokenizer={cfg.data.tokenizer!r} needs a package that is not installed "
                          f"({hint})") from None
    except (OSError, ValueError) as e:
        raise ConfigError(f"data.corpus={corpus!r} could not be loaded ({e}); fix the corpus or "
                          f"point data.corpus at a readable text file or folder") from e
    if data.vocab_size != cfg.model.vocab_size:
        raise ConfigError(f"model.vocab_size={cfg.model.vocab_size} does not match the tokenizer's "
                          f"vocabulary {data.vocab_size}; set model.vocab_size={data.vocab_size}")
    need = cfg.model.block_size + 2
    for split in ("train", "val"):
        n = len(getattr(data, split))
        if n < need:
            raise ConfigError(f"the {split} split of data.corpus={corpus!r} has {n} tokens, fewer than "
                              f"model.block_size + 2 = {need}; use a larger corpus or a shorter block_size")
    return data
