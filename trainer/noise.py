"""The noise a training step adds to the latents: how much (the timesteps) and what (the noise the UNet is asked
to predict), as sd-scripts' options shape them.

Timesteps are uniform over [training.min_timestep, training.max_timestep), the
whole schedule by default. training.noise_offset adds a constant per image and channel, so overall
brightness can be learned; training.multires_noise_iterations adds noise
drawn at ever coarser resolutions (sd-scripts' multi-resolution or "pyramid"
noise), so large structures are destroyed and re-learned too; training.ip_noise_gamma
perturbs only the UNet's input, never the target (input perturbation, Ning et
al. 2023). Everything is drawn for the whole global batch from the run's
generator: a resumed run, and processes sharing a batch, draw the same.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from trainer.config import ConfigError


def draw_timesteps(count: int, training, num_train_timesteps: int, generator: torch.Generator) -> torch.Tensor:
    """`count` timesteps (B,), uniform over the configured range."""
    low, high = training.min_timestep, min(training.max_timestep, num_train_timesteps)
    if low >= high:
        raise ConfigError(f"training.min_timestep: {low} leaves no timesteps below training.max_timestep {training.max_timestep} (the model has {num_train_timesteps})")
    return torch.randint(low, high, (count,), generator=generator)


def target(shape: tuple[int, ...], training, generator: torch.Generator) -> torch.Tensor:
    """The noise (B, C, h, w) mixed into the latents, which the UNet learns to predict."""
    noise = torch.randn(shape, generator=generator)
    if training.noise_offset:
        noise += training.noise_offset * torch.randn((*shape[:2], 1, 1), generator=generator)
    if training.multires_noise_iterations:
        noise = multires(noise, training.multires_noise_iterations, training.multires_noise_discount, generator)
    return noise


def multires(noise: torch.Tensor, iterations: int, discount: float, generator: torch.Generator) -> torch.Tensor:
    """sd-scripts' pyramid noise: level i is noise at 1/r^i of the size (r drawn from 2 to 4 each level), upscaled,
    weighted discount^i, and added; the sum is scaled back to unit std. Level 0 is full size, as in sd-scripts."""
    b, c, h, w = noise.shape
    for i in range(iterations):
        r = 2 + 2 * torch.rand((), generator=generator).item()
        small = (max(1, int(h / r**i)), max(1, int(w / r**i)))
        noise = noise + F.interpolate(torch.randn((b, c, *small), generator=generator), size=(h, w), mode="bilinear") * discount**i
        if 1 in small:
            break
    return noise / noise.std()


def input_perturbation(shape: tuple[int, ...], gamma: float | None, generator: torch.Generator) -> torch.Tensor | None:
    """Extra noise for the UNet's input only (training.ip_noise_gamma), or None when off (nothing drawn)."""
    return gamma * torch.randn(shape, generator=generator) if gamma else None
