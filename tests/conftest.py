"""Shared test settings: tiny models run fastest on one thread, and no test writes to ~/.cache."""

import pytest
import torch


@pytest.fixture(autouse=True, scope="session")
def _one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(autouse=True, scope="session")
def _private_cache(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    mp.setenv("PROGTHEORY_CACHE", str(tmp_path_factory.mktemp("cache")))
    yield
    mp.undo()


def write_corpus(folder, n_docs=8, sentences=60, seed=0):
    """A few small documents of simple, learnable English sentences."""
    import random

    rng = random.Random(seed)
    subjects = ["the cat", "a dog", "the old man", "my sister", "the bird"]
    verbs = ["sees", "likes", "chases", "finds", "helps"]
    objects = ["the ball", "a red apple", "the river", "her friend", "the small house"]
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n_docs):
        text = " ".join(f"{rng.choice(subjects)} {rng.choice(verbs)} {rng.choice(objects)}." for _ in range(sentences))
        (folder / f"doc{i}.txt").write_text(text + "\n")
    return folder


@pytest.fixture(scope="session")
def corpus(tmp_path_factory):
    """A tiny folder corpus shared by the training, config and CLI tests."""
    return write_corpus(tmp_path_factory.mktemp("corpus"))
