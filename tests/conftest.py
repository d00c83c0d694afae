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
