"""The loss types and the Huber threshold's schedules, against sd-scripts' formulas written out here."""

import math

import pytest
import torch

from trainer import config as configs
from trainer import losses

T = torch.tensor([0, 250, 500, 999])


def training(**fields):
    return configs.load({"training": fields}).training


@pytest.fixture()
def pair():
    g = torch.Generator().manual_seed(0)
    return torch.randn(4, 4, 8, 8, generator=g), torch.randn(4, 4, 8, 8, generator=g) * 3  # some errors far beyond c


def test_l2_and_l1_are_the_means_of_squared_and_absolute_errors(base, pair):
    pred, target = pair
    assert torch.allclose(losses.per_image(pred, target, T, training(), base.noise_scheduler), ((pred - target) ** 2).mean(dim=(1, 2, 3)))
    assert torch.allclose(losses.per_image(pred, target, T, training(loss_type="l1"), base.noise_scheduler), (pred - target).abs().mean(dim=(1, 2, 3)))


def test_pseudo_huber_is_squared_near_zero_and_linear_far_from_it(base):
    pred, c = torch.zeros(1, 1, 1, 2), 0.1
    target = torch.tensor([[[[0.001, 100.0]]]])
    smooth = 2 * (torch.sqrt(target**2 + c**2) - c)
    assert smooth[0, 0, 0, 0] == pytest.approx(0.001**2 / c, rel=1e-3)  # near zero: error^2 / c
    assert smooth[0, 0, 0, 1] == pytest.approx(2 * 100, rel=1e-2)  # far: 2 |error|
    cfg = training(loss_type="smooth_l1", huber_c=c, huber_schedule="constant")
    assert losses.per_image(pred, target, T[:1], cfg, base.noise_scheduler) == pytest.approx(smooth.mean().item(), rel=1e-5)
    huber = losses.per_image(pred, target, T[:1], training(loss_type="huber", huber_c=c, huber_schedule="constant"), base.noise_scheduler)
    assert huber == pytest.approx(c * smooth.mean().item(), rel=1e-5)  # huber is c x smooth_l1


def test_the_threshold_schedules_follow_sd_scripts(base):
    scheduler, c = base.noise_scheduler, 0.1
    assert torch.allclose(losses.huber_threshold(scheduler, T, training(huber_c=c, huber_schedule="constant")), torch.full((4,), c))
    alpha = -math.log(c) / scheduler.config.num_train_timesteps
    assert torch.allclose(losses.huber_threshold(scheduler, T, training(huber_c=c, huber_schedule="exponential")), torch.exp(-alpha * T.float()))
    sigmas = ((1 - scheduler.alphas_cumprod[T]) / scheduler.alphas_cumprod[T]) ** 0.5
    snr = losses.huber_threshold(scheduler, T, training(huber_c=c))  # snr is the default, as in sd-scripts
    assert torch.allclose(snr, (1 - c) / (1 + sigmas) ** 2 + c)
    assert snr[0] > 0.9 and snr[-1] == pytest.approx(c, abs=0.01)  # clean: about 1; all noise: about c


def test_huber_scale_multiplies_the_constant_and_exponential_thresholds_but_not_snrs(base):
    scheduler, c = base.noise_scheduler, 0.1
    for schedule, factor in (("constant", 3.0), ("exponential", 3.0), ("snr", 1.0)):
        plain = losses.huber_threshold(scheduler, T, training(huber_c=c, huber_schedule=schedule))
        scaled = losses.huber_threshold(scheduler, T, training(huber_c=c, huber_schedule=schedule, huber_scale=3))
        assert torch.allclose(scaled, plain * factor), schedule
