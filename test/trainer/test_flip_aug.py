"""data.flip_aug: which images are mirrored at a step, that both latent paths mirror them alike, and SDXL's crop ids of the mirrored view."""

import json

import pytest
import torch
from safetensors import safe_open

from trainer import buckets, models
from trainer import config as configs
from trainer.batches import mirrored
from trainer.events import EventRecords
from trainer.latent_cache import LatentCache, distributions
from trainer.train import ADAPTER_FILE, latent_encoder, prepare_data, train

RUN = {"data": {"images": 4, "flip_aug": True}, "training": {"max_steps": 3, "batch_size": 2, "seed": 0}}


def test_each_image_is_mirrored_half_the_time_reproducibly():
    idx = torch.arange(200)
    draws = torch.stack([mirrored(idx, batch, seed=7) for batch in range(5)])  # (5, 200)
    assert 0.45 < draws.float().mean() < 0.55
    assert torch.equal(draws[3], mirrored(idx, 3, seed=7))  # a resumed run draws the same
    assert not torch.equal(draws[0], draws[1]) and not torch.equal(draws[0], mirrored(idx, 0, seed=8))
    # An image's draw does not depend on which others share its batch: processes splitting a batch agree.
    assert torch.equal(mirrored(idx[100:], 2, seed=7), draws[2, 100:])


def test_the_mirrored_crop_starts_where_the_flipped_image_is_cropped():
    placement = buckets.place((101, 64), [(64, 64)])  # resized to 101 x 64, 37 columns cropped
    assert placement.crop_top_left == (0, 18)
    assert placement.mirrored_crop_top_left == (0, 19)  # 101 - 64 - 18: the same window, seen from the other side


@pytest.mark.parametrize("cache", ["memory", "off"])
def test_mirrored_images_are_encoded_flipped_in_either_latent_path(base, cache, monkeypatch):
    # The latents' means, not samples: both paths then give exactly what the VAE makes of the pixels.
    monkeypatch.setattr(LatentCache, "_sample", lambda self, mean, std, generator: mean * self.base.vae.config.scaling_factor)
    cfg = configs.load({**RUN, "training": {**RUN["training"], "cache_latents": cache}})
    data = prepare_data(cfg.data)
    idx, flips = data.by_bucket[0][:2], torch.tensor([True, False])
    got = latent_encoder(base, data, cfg, first_batch=0)(idx, flips)
    pixels = models.pixels([data.placements[i].fit(data.examples[i].image()) for i in idx.tolist()])  # (2, 3, H, W)
    want = torch.cat([distributions(base, pixels[:1].flip(-1))[0], distributions(base, pixels[1:])[0]]) * base.vae.config.scaling_factor
    torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-4)
    assert not torch.allclose(got[0], distributions(base, pixels[:1])[0][0] * base.vae.config.scaling_factor, atol=1e-2)  # the drawn shapes are not symmetric


def test_a_run_with_flip_aug_trains_on_other_views_and_says_so(base, tmp_path):
    losses = {}
    for flip in (False, True):
        events = []
        run_dir = tmp_path / str(flip)
        run_dir.mkdir()
        train({**RUN, "data": {**RUN["data"], "flip_aug": flip}}, run_dir, EventRecords(events.append), load_model=lambda *_: base)
        assert events[-1]["type"] == "finished", events[-1]
        losses[flip] = [e["loss"] for e in events if e["type"] == "step"]
        with safe_open(str(run_dir / ADAPTER_FILE), "pt") as f:
            assert json.loads(f.metadata()["ss_flip_aug"].lower()) is flip
    assert losses[True] != pytest.approx(losses[False])
