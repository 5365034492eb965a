"""The training noise: the offset, sd-scripts' multi-resolution noise and input perturbation."""

import json

import pytest
import torch
from safetensors import safe_open

from trainer import config as configs
from trainer import noise
from trainer.events import EventRecords
from trainer.train import ADAPTER_FILE, train

SHAPE = (8, 4, 32, 32)


def draw(**training):
    return noise.target(SHAPE, configs.load({"training": training}).training, torch.Generator().manual_seed(0))


def spread_of_means(x):
    """How much each image-channel's mean brightness varies: about 1/(h*w) for white noise."""
    return x.mean(dim=(2, 3)).var().item()


def test_plain_noise_is_the_generators_draw_unchanged():
    assert torch.equal(draw(), torch.randn(SHAPE, generator=torch.Generator().manual_seed(0)))


def test_multires_noise_has_unit_std_and_coarse_structure():
    plain = draw()
    pyramids = {d: draw(multires_noise_iterations=6, multires_noise_discount=d) for d in (0.05, 0.3, 0.8)}
    assert all(p.std().item() == pytest.approx(1.0, abs=1e-5) for p in pyramids.values())
    assert spread_of_means(plain) < 3 / (32 * 32)
    # Whole regions move together, the more so the higher the discount (the coarse levels' weight).
    spreads = [spread_of_means(pyramids[d]) for d in (0.05, 0.3, 0.8)]
    assert spreads == sorted(spreads) and spreads[1] > 1.5 * spread_of_means(plain) and spreads[2] > 50 * spread_of_means(plain)
    assert torch.equal(pyramids[0.3], draw(multires_noise_iterations=6, multires_noise_discount=0.3))  # reproducible from the seed


def test_input_perturbation_is_off_without_gamma_and_scaled_with_it():
    generator = torch.Generator().manual_seed(0)
    assert noise.input_perturbation(SHAPE, None, generator) is None
    assert torch.equal(torch.randn(3, generator=generator), torch.randn(3, generator=torch.Generator().manual_seed(0)))  # nothing drawn
    assert noise.input_perturbation(SHAPE, 0.1, torch.Generator().manual_seed(0)).std().item() == pytest.approx(0.1, rel=0.05)


def test_runs_with_either_option_train_on_other_noise_and_record_it(base, tmp_path):
    losses = {}
    for name, training in {"plain": {}, "multires": {"multires_noise_iterations": 6}, "ip": {"ip_noise_gamma": 0.1}}.items():
        events = []
        (tmp_path / name).mkdir()
        config = {"data": {"images": 4}, "training": {"max_steps": 3, "batch_size": 2, "seed": 0, **training}}
        train(config, tmp_path / name, EventRecords(events.append), load_model=lambda *_: base)
        assert events[-1]["type"] == "finished", events[-1]
        losses[name] = [e["loss"] for e in events if e["type"] == "step"]
        with safe_open(str(tmp_path / name / ADAPTER_FILE), "pt") as f:
            metadata = f.metadata()
        assert metadata["ss_multires_noise_iterations"] == str(training.get("multires_noise_iterations", 0))
        assert metadata["ss_ip_noise_gamma"] == str(training.get("ip_noise_gamma"))
    assert losses["multires"] != pytest.approx(losses["plain"]) and losses["ip"] != pytest.approx(losses["plain"])
