"""Frozen encoders whose outputs are all cached wait on the CPU while the UNet trains; sampling brings them back.

With cached latents nothing needs the VAE until a sample is decoded; with
cached text-encoder outputs nothing needs the text encoders until a sample
prompt is encoded. sd-scripts moves them off the GPU for the same reason: on
SDXL that frees the VAE's 160 MB and the text encoders' 1.6 GB (fp16) for
the UNet's activations. On a CPU run they are already home: moving is a no-op.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

import torch

from trainer import models

HOME = torch.device("cpu")


def cached_encoders(base: models.BaseModel, latents: str, text: str) -> dict[str, torch.nn.Module]:
    """The frozen modules whose every output this run has cached (cache modes of latents and text), by name."""
    modules = {}
    if latents != "off":
        modules["vae"] = base.vae
    if text != "off":
        modules |= {name: encoder for (_, name), (_, encoder) in zip(models.TEXT_ENCODER_NAMES, base.text_encoders)}
    return modules


class Offload:
    def __init__(self, modules: dict[str, torch.nn.Module], device: torch.device):
        self.modules, self.device = modules, device
        self.parked = False

    def park(self) -> None:
        for module in self.modules.values():
            module.to(HOME)
        self.parked = True

    def restore(self) -> None:
        for module in self.modules.values():
            module.to(self.device)
        self.parked = False

    @contextmanager
    def restored(self) -> Iterator[None]:
        """The modules on the run's device for a while (sampling), parked again after."""
        was_parked = self.parked
        self.restore()
        try:
            yield
        finally:
            if was_parked:
                self.park()
