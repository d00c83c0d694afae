"""Data parallelism on one machine without torchrun: `launch_local(n, cfg, out)` starts n CPU
processes with gloo, each calling `progtheory.train.loop.train` as torchrun would
(`progtheory.train.distributed` describes what every process does).  It sits above the loop,
so the loop and `distributed` import neither it nor each other in a circle.
"""

from __future__ import annotations

import os
import socket

import torch
import torch.distributed as dist

from progtheory import config as C
from progtheory.config import ConfigError, TrainConfig
from progtheory.train.loop import train


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _local_worker(rank: int, world_size: int, port: int, cfg_dict: dict, out_dir: str, kwargs: dict,
                  results) -> None:
    torch.set_num_threads(1)
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank),
                      LOCAL_RANK=str(rank), WORLD_SIZE=str(world_size))
    dist.init_process_group("gloo", rank=rank, world_size=world_size)
    try:
        results[rank] = train(C.from_dict(cfg_dict), out_dir, **kwargs)
    finally:
        dist.destroy_process_group()


def launch_local(nprocs: int, cfg: TrainConfig, out_dir, **train_kwargs) -> dict:
    """Train `cfg` into `out_dir` with `nprocs` CPU processes (gloo) on this machine and
    return rank 0's summary; the same as `torchrun --nproc_per_node nprocs` on CPU."""
    import torch.multiprocessing as mp

    if nprocs < 1:
        raise ConfigError(f"nprocs={nprocs} must be >= 1")
    if cfg.device != "cpu":
        raise ConfigError(f"launch_local runs CPU processes, but device={cfg.device!r}; set device=cpu, "
                          f"or use torchrun on a GPU machine")
    with mp.Manager() as manager:
        results = manager.dict()
        mp.spawn(_local_worker, args=(nprocs, _free_port(), C.to_dict(cfg), str(out_dir), train_kwargs, results),
                 nprocs=nprocs, join=True)
        return dict(results[0])
