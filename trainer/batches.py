"""Which images each batch holds, and (with the latent cache off) loading their pixels ahead of the GPU.

Batch order is a pure function of (batch number, dataset size, batch size,
seed): each epoch is a fresh shuffle, epochs chained. A resumed run therefore
sees exactly the batches the uninterrupted one would have, and a DataLoader's
worker processes can prepare them ahead without any shared state.
"""

from __future__ import annotations

from typing import Iterator

import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset, Sampler

from trainer import models


def batch_indices(batch: int, count: int, batch_size: int, seed: int) -> torch.Tensor:
    """Indices of the `batch`-th batch (0-based)."""
    first = batch * batch_size
    epochs = range(first // count, (first + batch_size - 1) // count + 1)
    order = torch.cat([torch.randperm(count, generator=torch.Generator().manual_seed(seed * 1_000_003 + e)) for e in epochs])
    offset = first - epochs[0] * count
    return order[offset : offset + batch_size]  # (B,)


class BatchOrder(Sampler[list[int]]):
    """batch_indices from `start` on, without end: the DataLoader asks for as many as the run takes."""

    def __init__(self, count: int, batch_size: int, seed: int, start: int):
        self.count, self.batch_size, self.seed, self.start = count, batch_size, seed, start

    def __iter__(self) -> Iterator[list[int]]:
        batch = self.start
        while True:
            yield batch_indices(batch, self.count, self.batch_size, self.seed).tolist()
            batch += 1


class Pixels(Dataset):
    def __init__(self, images: list[Image.Image]):
        self.images = images

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int) -> tuple[int, torch.Tensor]:
        return i, models.pixels([self.images[i]])[0]  # (3, H, W) in [-1, 1]


def pixel_batches(images: list[Image.Image], batch_size: int, seed: int, start: int, workers: int) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """(indices (B,), pixels (B, 3, H, W)) of each batch from `start`, prepared by `workers` processes (0: this one)."""
    # Spawned, not forked: the trainer worker has threads of its own (its command reader, torch's
    # pool), and a forked child can inherit a lock one of them held and wait on it for ever.
    loader = DataLoader(
        Pixels(images),
        batch_sampler=BatchOrder(len(images), batch_size, seed, start),
        num_workers=workers,
        multiprocessing_context="spawn" if workers else None,
    )
    return iter(loader)
