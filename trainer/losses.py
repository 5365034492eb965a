"""How far the UNet's prediction is from its target, per image, and how much each image's loss counts.

training.loss_type is sd-scripts': l2 (the mean squared error every lesson
uses), l1, or the pseudo-Huber forms huber and smooth_l1, which grow only
linearly for large errors so a few outliers pull less; their threshold c
follows training.huber_schedule over the timesteps (sd-scripts' huber_c,
huber_schedule and huber_scale). The loss can then be weighted by its timestep's
signal-to-noise ratio: Min-SNR (training.min_snr_gamma; Hang et al. 2023)
and sd-scripts' debiased estimation (training.debiased_estimation), both if set.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from diffusers.training_utils import compute_snr

# SNR is infinite at timestep 0 on some schedules; sd-scripts caps it here for the debiased weight.
DEBIASED_SNR_CAP = 1000.0


def huber_threshold(noise_scheduler, timesteps: torch.Tensor, training) -> torch.Tensor:
    """The pseudo-Huber threshold c per image (B,): constant, or decaying with the timestep (exponential: from 1 at
    t=0 to huber_c at the last; snr: from 1 where the image is clean to huber_c where it is all noise).
    huber_scale multiplies the constant and exponential thresholds, not snr's, as in sd-scripts."""
    c, scale = training.huber_c, training.huber_scale
    if training.huber_schedule == "exponential":
        return torch.exp(math.log(c) * timesteps.float() / noise_scheduler.config.num_train_timesteps) * scale
    if training.huber_schedule == "snr":
        alphas = noise_scheduler.alphas_cumprod.to(timesteps.device)[timesteps]
        sigmas = ((1 - alphas) / alphas) ** 0.5
        return (1 - c) / (1 + sigmas) ** 2 + c
    return torch.full(timesteps.shape, c * scale, device=timesteps.device)


def per_image(pred: torch.Tensor, target: torch.Tensor, timesteps: torch.Tensor, training, noise_scheduler) -> torch.Tensor:
    """The loss of each image (B,), averaged over its latent, as training.loss_type defines it."""
    pred, target = pred.float(), target.float()
    if training.loss_type == "l2":
        loss = F.mse_loss(pred, target, reduction="none")
    elif training.loss_type == "l1":
        loss = F.l1_loss(pred, target, reduction="none")
    else:
        c = huber_threshold(noise_scheduler, timesteps, training).view(-1, 1, 1, 1)
        smooth = 2 * (torch.sqrt((pred - target) ** 2 + c**2) - c)  # about |error| far from 0, error^2 / c near it
        loss = smooth * c if training.loss_type == "huber" else smooth
    return loss.mean(dim=(1, 2, 3))


def snr_weights(noise_scheduler, timesteps: torch.Tensor, training, prediction_type: str) -> torch.Tensor | None:
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
