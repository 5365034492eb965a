"""Latents of the training images, encoded by the frozen VAE once instead of every step.

`memory` keeps them for one run; `disk` also stores each image's latent
distribution under .cache/latents/, keyed by a hash of the image file's bytes
(or a drawn image's pixels), where it sits in its bucket (size, resize, crop)
and the VAE's weights. sd-scripts keys its .npz cache by file name and checks
only the image size, so an edited image or a swapped VAE can be served a
stale latent; here either one changes the key, and the latent is recomputed.

The cache holds the distribution (mean, std), not a sample: each run draws
its own sample from its seed, so memory and disk caching train identically.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import torch

from trainer import models, tensor_store
from trainer.buckets import Placement
from trainer.example import Example
from trainer.tensor_store import TensorStore

DEFAULT_ROOT = tensor_store.CACHE_ROOT / "latents"
ENCODE_BATCH = 4  # images through the VAE at once while filling the cache: a 1024² SDXL VAE pass is memory-hungry


@torch.no_grad()
def distributions(base: models.BaseModel, pixels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The VAE's latent distribution of each image (N, 3, H, W): mean and std, (N, 4, H/f, W/f) each."""
    dist = base.vae.encode(pixels.to(*models.placement(base.vae))).latent_dist
    return dist.mean, dist.std


class LatentCache:
    def __init__(self, base: models.BaseModel, mode: str, root: Path | None = None):
        self.base = base
        self.store = TensorStore(mode, root or DEFAULT_ROOT)

    @property
    def encoded(self) -> int:
        """Images that went through the VAE (the rest were repeats, or came from disk)."""
        return self.store.computed

    def latents(self, examples: list[Example], placements: list[Placement], generator: torch.Generator, mirrored: bool = False) -> list[torch.Tensor]:
        """Scaled latents, one sample per image from `generator`: (4, h, w) each, h and w its bucket's / f; of each image flipped left to right if `mirrored`."""
        fingerprint = tensor_store.fingerprint(self.base.vae)
        keys = [tensor_store.key(fingerprint, e.digest, repr(p) + " mirrored" * mirrored) for e, p in zip(examples, placements)]

        def encode(missing: list[int]) -> list[dict[str, torch.Tensor]]:
            entries = {}
            by_bucket = itertools.groupby(sorted(missing, key=lambda i: placements[i].bucket), key=lambda i: placements[i].bucket)
            for _, same_size in by_bucket:
                same_size = list(same_size)
                for chunk in (same_size[i : i + ENCODE_BATCH] for i in range(0, len(same_size), ENCODE_BATCH)):
                    pixels = models.pixels([placements[i].fit(examples[i].image()) for i in chunk])  # (n, 3, H, W)
                    pixels = pixels.flip(-1) if mirrored else pixels
                    for i, mean, std in zip(chunk, *distributions(self.base, pixels)):
                        entries[i] = {"mean": mean, "std": std}
            return [entries[i] for i in missing]

        self.store.fill(keys, encode)
        return [self._sample(self.store[k]["mean"], self.store[k]["std"], generator) for k in keys]

    def latents_of_pixels(self, pixels: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """Like latents(), for a batch of pixels already prepared (by a DataLoader); never cached."""
        return self._sample(*distributions(self.base, pixels), generator)

    def _sample(self, mean: torch.Tensor, std: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        noise = torch.randn(mean.shape, generator=generator).to(mean.device, mean.dtype)
        return (mean + std * noise) * self.base.vae.config.scaling_factor
