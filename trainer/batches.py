"""Which images each batch holds, which of them are mirrored, and (with the latent cache off) loading their pixels ahead of the GPU.

Batch order is a pure function of (batch number, buckets, batch size, seed),
so a resumed run sees exactly the batches the uninterrupted one would have,
and a DataLoader's worker processes can prepare them ahead without shared state.

Every batch holds images of one bucket (one size), as sd-scripts' buckets do.
An epoch is ceil(n / batch_size) batches of each bucket of n images, in a
shuffled order of buckets; each bucket deals its images from its own chain of
per-epoch shuffles, so every batch is full (a small bucket repeats images
sooner) and one bucket trains exactly as the whole dataset did before buckets.
"""

from __future__ import annotations

import math
import random
from typing import Iterator

import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from trainer import models
from trainer.buckets import Placement
from trainer.example import Example

BUCKET_SEED_STRIDE = 1_000_000_007  # bucket b's shuffles use seed + b × this: bucket 0's are the one-bucket order


def shuffled_chain(batch: int, count: int, batch_size: int, seed: int) -> torch.Tensor:
    """Positions 0..count-1 of the `batch`-th batch of a chain of per-epoch shuffles."""
    first = batch * batch_size
    epochs = range(first // count, (first + batch_size - 1) // count + 1)
    order = torch.cat([torch.randperm(count, generator=torch.Generator().manual_seed(seed * 1_000_003 + e)) for e in epochs])
    offset = first - epochs[0] * count
    return order[offset : offset + batch_size]  # (B,)


def batch_indices(batch: int, buckets: list[torch.Tensor], batch_size: int, seed: int) -> torch.Tensor:
    """Dataset indices of the `batch`-th batch (0-based), all from one of `buckets` (each: the indices of its images)."""
    per_epoch = torch.tensor([math.ceil(len(b) / batch_size) for b in buckets])
    epoch, position = divmod(batch, int(per_epoch.sum()))
    turns = torch.repeat_interleave(torch.arange(len(buckets)), per_epoch)  # whose batch each position of the epoch is
    turns = turns[torch.randperm(len(turns), generator=torch.Generator().manual_seed(seed * 1_000_003 + epoch + BUCKET_SEED_STRIDE))]
    bucket = int(turns[position])
    nth = epoch * int(per_epoch[bucket]) + int((turns[:position] == bucket).sum())  # the bucket's own batch count so far
    return buckets[bucket][shuffled_chain(nth, len(buckets[bucket]), batch_size, seed + bucket * BUCKET_SEED_STRIDE)]  # (B,)


def mirrored(idx: torch.Tensor, batch: int, seed: int) -> torch.Tensor:
    """Which images of the `batch`-th batch are flipped left to right (data.flip_aug): each half the time, drawn from
    (seed, batch, image) as the captions are, so processes sharing a batch and a resumed run agree."""
    return torch.tensor([random.Random(f"{seed}:{batch}:{i}:flip").random() < 0.5 for i in idx.tolist()], dtype=torch.bool)  # (B,)


class BatchOrder(Sampler[list[int]]):
    """batch_indices from `start` on, without end: the DataLoader asks for as many as the run takes."""

    def __init__(self, buckets: list[torch.Tensor], batch_size: int, seed: int, start: int):
        self.buckets, self.batch_size, self.seed, self.start = buckets, batch_size, seed, start

    def __iter__(self) -> Iterator[list[int]]:
        batch = self.start
        while True:
            yield batch_indices(batch, self.buckets, self.batch_size, self.seed).tolist()
            batch += 1


class Pixels(Dataset):
    """Image i as its bucket wants it, read from its file (or drawn image) only when asked."""

    def __init__(self, examples: list[Example], placements: list[Placement]):
        self.examples, self.placements = examples, placements

    def __len__(self) -> int:
        return len(self.examples)

    def __getitem__(self, i: int) -> tuple[int, torch.Tensor]:
        return i, models.pixels([self.placements[i].fit(self.examples[i].image())])[0]  # (3, H, W) in [-1, 1]


def pixel_batches(
    examples: list[Example], placements: list[Placement], buckets: list[torch.Tensor], batch_size: int, seed: int, start: int, workers: int
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """(indices (B,), pixels (B, 3, H, W)) of each batch from `start`, prepared by `workers` processes (0: this one)."""
    # Spawned, not forked: the trainer worker has threads of its own (its command reader, torch's
    # pool), and a forked child can inherit a lock one of them held and wait on it for ever.
    loader = DataLoader(
        Pixels(examples, placements),
        batch_sampler=BatchOrder(buckets, batch_size, seed, start),
        num_workers=workers,
        multiprocessing_context="spawn" if workers else None,
    )
    return iter(loader)
