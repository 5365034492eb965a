"""Which timesteps a step trains on, and how much each one's loss counts.

Timesteps are drawn uniformly from [training.min_timestep, training.max_timestep)
(sd-scripts' min_timestep/max_timestep; the whole schedule by default). The loss
of each image can then be weighted by its timestep's signal-to-noise ratio:
Min-SNR (training.min_snr_gamma; Hang et al. 2023) and sd-scripts'
debiased estimation (training.debiased_estimation), both at once if set.
"""

from __future__ import annotations

import torch
from diffusers.training_utils import compute_snr

from trainer.config import ConfigError

# SNR is infinite at timestep 0 on some schedules; sd-scripts caps it here for the debiased weight.
DEBIASED_SNR_CAP = 1000.0


def draw_timesteps(count: int, training, num_train_timesteps: int, generator: torch.Generator) -> torch.Tensor:
    """`count` timesteps (B,), uniform over the configured range."""
    low, high = training.min_timestep, min(training.max_timestep, num_train_timesteps)
    if low >= high:
        raise ConfigError(f"training.min_timestep: {low} leaves no timesteps below training.max_timestep {training.max_timestep} (the model has {num_train_timesteps})")
    return torch.randint(low, high, (count,), generator=generator)


def loss_weights(noise_scheduler, timesteps: torch.Tensor, training, prediction_type: str) -> torch.Tensor | None:
    """Each image's loss weight (B,), or None when no weighting is set.

    Min-SNR: min(SNR, gamma) / SNR for epsilon, / (SNR + 1) for v. Debiased: 1 / sqrt(SNR) for
    epsilon, 1 / (SNR + 1) for v, with the SNR capped at 1000 (as sd-scripts does)."""
    if training.min_snr_gamma is None and not training.debiased_estimation:
        return None
    snr = compute_snr(noise_scheduler, timesteps)  # (B,)
    weights = torch.ones_like(snr)
    v = prediction_type == "v_prediction"
    if training.min_snr_gamma is not None:
        clipped = torch.clamp(snr, max=training.min_snr_gamma)
        weights = weights * (clipped / (snr + 1) if v else clipped / snr)
    if training.debiased_estimation:
        capped = torch.clamp(snr, max=DEBIASED_SNR_CAP)
        weights = weights * (1 / (capped + 1) if v else 1 / torch.sqrt(capped))
    return weights
