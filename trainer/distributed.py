"""Several training processes, one per GPU, started by `accelerate launch` (DDP's arithmetic, by hand).

`accelerate launch --multi_gpu --num_processes N -m trainer train cfg.yaml`
starts N copies of the headless trainer with RANK, WORLD_SIZE and LOCAL_RANK
in their environment (torchrun's variables). Each joins one process group
(NCCL on GPUs, gloo on CPUs) and then trains like a single process, except
that:

- every global batch (batch_indices for batch_size × N) is split by rank, and
  the random draws that go with it (noise, timesteps) are made for the whole
  global batch on every process, then split the same way: N processes see
  exactly what one process with N× the batch would;
- before each optimizer step the gradients are averaged over the processes,
  so every process applies the same update to the same weights (what DDP's
  all-reduce does, written out as one step of the loop);
- only the main process (rank 0) writes: events, samples, states, the adapter.

Without those variables (the worker, a plain `python -m trainer train`) this
is one process and every method is the identity.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class Processes:
    """This process's place among the training processes: rank of count."""

    rank: int = 0
    count: int = 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def share(self, batch: torch.Tensor) -> torch.Tensor:
        """This process's slice of a global batch (along dim 0): contiguous, in rank order."""
        return torch.tensor_split(batch, self.count)[self.rank]

    def average_gradients(self, params: list[torch.nn.Parameter]) -> None:
        """Every process's gradients become their mean over the processes (one all-reduce of one flat float32 buffer).

        Each process's loss is the mean over its share, so with equal shares the
        mean of the processes' gradients is the gradient of the global batch's mean loss.
        """
        if self.count == 1:
            return
        grads = [p.grad for p in params if p.grad is not None]  # every process runs the same graph: the same list
        flat = torch.cat([g.reshape(-1).float() for g in grads])
        dist.all_reduce(flat)
        flat /= self.count
        for grad, averaged in zip(grads, flat.split([g.numel() for g in grads])):
            grad.copy_(averaged.view_as(grad))

    def mean(self, value: float) -> float:
        """The mean of a number over the processes (the step's loss as the whole global batch saw it)."""
        if self.count == 1:
            return value
        total = torch.tensor([value], dtype=torch.float64, device=_collective_device())
        dist.all_reduce(total)
        return total.item() / self.count

    def same_start(self, params: list[torch.nn.Parameter]) -> None:
        """Every process starts from the main process's weights, as DDP does (the same seed already makes them equal; this makes sure)."""
        if self.count == 1:
            return
        for p in params:
            dist.broadcast(p.data, src=0)

    def from_main(self, value):
        """The main process's value of a picklable object, on every process (e.g. the run folder it named)."""
        if self.count == 1:
            return value
        box = [value]
        dist.broadcast_object_list(box, src=0)
        return box[0]


def _collective_device() -> torch.device:
    return torch.device("cuda") if dist.get_backend() == "nccl" else torch.device("cpu")


def join() -> Processes:
    """Join the process group `accelerate launch` set up, if any; on GPUs, take this process's own GPU."""
    count = int(os.environ.get("WORLD_SIZE", "1"))
    if count == 1:
        return Processes()
    if torch.cuda.is_available():
        # torch.device("cuda") from here on means this process's GPU.
        torch.cuda.set_device(int(os.environ["LOCAL_RANK"]))
    if not dist.is_initialized():
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    return Processes(rank=dist.get_rank(), count=dist.get_world_size())


def leave() -> None:
    if dist.is_initialized():
        dist.destroy_process_group()
