"""Latents of the training images, encoded by the frozen VAE once instead of every step.

`memory` keeps them for one run; `disk` also stores each image's latent
distribution under .cache/latents/, keyed by a hash of the image's pixels, the
VAE's weights and the resolution. sd-scripts keys its .npz cache by file name
and checks only the image size, so an edited image or a swapped VAE can be
served a stale latent; here either one changes the key, and the latent is
recomputed.

The cache holds the distribution (mean, std), not a sample: each run draws
its own sample from its seed, so memory and disk caching train identically.
"""

from __future__ import annotations

import hashlib
import weakref
from pathlib import Path

import torch
from PIL import Image
from safetensors.torch import load_file, save_file

from trainer import models

DEFAULT_ROOT = Path(__file__).resolve().parents[1] / ".cache" / "latents"
_vae_fingerprints: "weakref.WeakKeyDictionary[torch.nn.Module, str]" = weakref.WeakKeyDictionary()


def vae_fingerprint(vae: torch.nn.Module) -> str:
    """A hash of the VAE's weights, computed once per loaded VAE."""
    if vae not in _vae_fingerprints:
        digest = hashlib.sha256()
        for name, tensor in sorted(vae.state_dict().items()):
            digest.update(name.encode())
            digest.update(tensor.detach().cpu().contiguous().view(torch.uint8).numpy().tobytes())
        _vae_fingerprints[vae] = digest.hexdigest()
    return _vae_fingerprints[vae]


def image_key(image: Image.Image, vae: str, resolution: int) -> str:
    rgb = image.convert("RGB")
    digest = hashlib.sha256(f"{vae}:{resolution}:{rgb.size}".encode())
    digest.update(rgb.tobytes())
    return digest.hexdigest()


@torch.no_grad()
def distributions(base: models.BaseModel, pixels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The VAE's latent distribution of each image (N, 3, H, W): mean and std, (N, 4, H/f, W/f) each."""
    dist = base.vae.encode(pixels.to(base.vae.device, base.vae.dtype)).latent_dist
    return dist.mean, dist.std


class LatentCache:
    def __init__(self, base: models.BaseModel, mode: str, resolution: int, root: Path | None = None):
        self.base = base
        self.mode = mode
        self.resolution = resolution
        self.root = root or DEFAULT_ROOT
        self.encoded = 0  # images that went through the VAE (the rest came from disk)

    def latents(self, images: list[Image.Image], generator: torch.Generator) -> torch.Tensor:
        """Scaled latents, one sample per image from `generator`: (N, 4, H/f, W/f)."""
        return self._sample(*self._distributions(images), generator)

    def latents_of_pixels(self, pixels: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """Like latents(), for pixels already prepared (by a DataLoader); never cached."""
        self.encoded += len(pixels)
        return self._sample(*distributions(self.base, pixels), generator)

    def _sample(self, mean: torch.Tensor, std: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        noise = torch.randn(mean.shape, generator=generator).to(mean.device, mean.dtype)
        return (mean + std * noise) * self.base.vae.config.scaling_factor

    def _distributions(self, images: list[Image.Image]) -> tuple[torch.Tensor, torch.Tensor]:
        if self.mode != "disk":
            self.encoded += len(images)
            return distributions(self.base, models.pixels(images))
        fingerprint = vae_fingerprint(self.base.vae)
        files = [self.root / key[:2] / f"{key}.safetensors" for key in (image_key(i, fingerprint, self.resolution) for i in images)]
        missing = [i for i, f in enumerate(files) if not f.is_file()]
        if missing:
            mean, std = distributions(self.base, models.pixels([images[i] for i in missing]))
            self.encoded += len(missing)
            for i, m, s in zip(missing, mean, std):
                files[i].parent.mkdir(parents=True, exist_ok=True)
                tmp = files[i].with_suffix(".tmp")
                save_file({"mean": m.cpu().contiguous(), "std": s.cpu().contiguous()}, tmp)
                tmp.replace(files[i])  # atomic: a killed run never leaves a torn cache entry
        loaded = [load_file(f) for f in files]
        device = self.base.vae.device
        return torch.stack([t["mean"] for t in loaded]).to(device), torch.stack([t["std"] for t in loaded]).to(device)
