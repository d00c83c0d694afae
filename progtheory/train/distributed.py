"""Where a run executes: one device, or one process per device with data parallelism.

    torchrun --nproc_per_node 4 -m progtheory.cli train --preset default --out runs/ddp

Under `torchrun` (which sets RANK, LOCAL_RANK, WORLD_SIZE, MASTER_ADDR and MASTER_PORT) the
trainer joins the process group (NCCL on CUDA, gloo on CPU) and trains with
DistributedDataParallel:

  * every process draws the same global batch of `batch_size` sequences (a pure function of
    (seed, step), `progtheory.data.get_batch`) and trains on its own contiguous slice of
    batch_size / world_size rows, so the gradient DDP averages is the gradient of the
    global batch and the loss curve is that of one process with the same `batch_size`;
  * the logged training loss is the mean over processes; every process evaluates the same
    validation batches, so all of them hold the same numbers;
  * growth runs on every process with the same generator, then the DDP wrapper is rebuilt
    around the grown model (`Group.forward`);
  * only the first process (rank 0) writes the run folder (config, metrics, checkpoints,
    summary); the others write into a private scratch folder that is deleted at exit.
    A checkpoint holds no per-process state, so a run resumes with any number of processes.

`progtheory.train.launch.launch_local(n, cfg, out)` starts n CPU processes with gloo on this
machine, for tests and for trying data parallelism without a GPU.

Device helpers the loop calls on every process: `to_device` (a batch onto the device without
blocking), `autocast` (bf16 on CUDA) and `wait_for_device` (at its read steps only).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from dataclasses import dataclass, field

import torch
import torch.distributed as dist

from progtheory.config import ConfigError, TrainConfig

# torch.compile backend of `compile=True` runs; "aot_eager" traces and splits forward and
# backward as inductor does but generates no kernels (seconds instead of minutes on a CPU).
COMPILE_BACKEND = "inductor"


@dataclass
class Group:
    """This process's place in the run: rank, number of processes, local device index."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    _scratch: tempfile.TemporaryDirectory | None = field(default=None, repr=False)

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def place(self, device: str) -> str:
        """The device of this process: "cuda" -> "cuda:<local_rank>" when several processes
        share a machine; "cpu" stays "cpu"."""
        if device.startswith("cuda") and self.world_size > 1:
            if self.local_rank >= torch.cuda.device_count():
                raise ConfigError(f"process {self.local_rank} has no GPU of its own ({torch.cuda.device_count()} "
                                  f"visible); start at most one process per GPU (--nproc_per_node)")
            torch.cuda.set_device(self.local_rank)
            return f"cuda:{self.local_rank}"
        return device

    def forward(self, model: torch.nn.Module, compile: bool = False):
        """The callable that trains `model`: DDP-wrapped when there are several processes,
        then `torch.compile`d if asked.  Call again after growth: the wrapper holds the old
        parameter list, and a compiled graph the old depth."""
        fn = model
        if self.world_size > 1:
            from torch.nn.parallel import DistributedDataParallel as DDP

            # branch multipliers are set identically on every process: no per-step buffer sync
            fn = DDP(model, forward_sync_buffers=False)
        return torch.compile(fn, backend=COMPILE_BACKEND) if compile else fn

    def shard(self, x, y):
        """This process's rows of the global batch (x, y): a contiguous slice of B / world_size."""
        if self.world_size == 1:
            return x, y
        n = x.shape[0] // self.world_size
        rows = slice(self.rank * n, (self.rank + 1) * n)
        return x[rows], y[rows]

    def mean(self, value: torch.Tensor) -> torch.Tensor:
        """Mean of a scalar tensor over processes (itself with one process)."""
        if self.world_size == 1:
            return value
        value = value.detach().clone()
        dist.all_reduce(value, op=dist.ReduceOp.SUM)
        return value / self.world_size

    def barrier(self) -> None:
        if self.world_size > 1:
            dist.barrier()

    @contextlib.contextmanager
    def main_first(self):
        """Run the body on rank 0 first (e.g. a cache build), then on the other ranks."""
        if not self.is_main:
            self.barrier()
        yield
        if self.is_main:
            self.barrier()

    def scratch(self):
        """A private folder for the files a non-main process would write (deleted at exit)."""
        if self._scratch is None:
            self._scratch = tempfile.TemporaryDirectory(prefix=f"progtheory-rank{self.rank}-")
        from pathlib import Path

        return Path(self._scratch.name)


def to_device(array, device: str) -> torch.Tensor:
    """A numpy batch as a tensor on `device`; on CUDA copied from pinned memory without
    blocking, so the host goes on to queue the step's kernels while the copy runs."""
    t = torch.from_numpy(array)
    if device.startswith("cuda"):
        return t.pin_memory().to(device, non_blocking=True)
    return t.to(device)


def autocast(device: str):
    """A factory of the context the forward passes run in: bf16 autocast on CUDA, none on CPU."""
    if device.startswith("cuda"):
        return lambda: torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext


def wait_for_device(device: str) -> None:
    """Block until `device` has run the work queued on it (CUDA); at once on CPU."""
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def join(cfg: TrainConfig) -> Group:
    """The process group of this run: from torchrun's environment (initialised here on first
    use: NCCL when the config runs on CUDA, gloo otherwise), from a group the caller already
    initialised, or one process.  Raises ConfigError when `batch_size` does not split evenly."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1 and not dist.is_initialized():
        cuda = cfg.device in ("auto", "cuda") and torch.cuda.is_available()
        dist.init_process_group("nccl" if cuda else "gloo")
    if not dist.is_initialized():
        return Group()
    group = Group(rank=dist.get_rank(), world_size=dist.get_world_size(),
                  local_rank=int(os.environ.get("LOCAL_RANK", dist.get_rank())))
    check_batch(cfg, group)
    return group


def check_batch(cfg: TrainConfig, group: Group) -> None:
    """Raise ConfigError unless the global batch splits evenly over the processes."""
    if cfg.batch_size % group.world_size:
        raise ConfigError(f"batch_size={cfg.batch_size} does not split over {group.world_size} processes; "
                          f"set batch_size to a multiple of {group.world_size} (it is the global batch)")
