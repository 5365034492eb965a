"""The latent cache: disk entries are keyed by pixels, VAE and resolution, so nothing stale is served."""

import torch
from PIL import Image

from trainer import latent_cache, shapes
from trainer.latent_cache import LatentCache


def images(n=3, seed=0):
    return [image for image, _ in shapes.generate(n, seed, 64)]


def test_disk_cache_recomputes_only_the_changed_image(base, tmp_path):
    pictures = images()
    cache = LatentCache(base, "disk", 64, root=tmp_path)
    first = cache.latents(pictures, torch.Generator().manual_seed(0))
    assert cache.encoded == 3

    again = LatentCache(base, "disk", 64, root=tmp_path)
    assert torch.allclose(again.latents(pictures, torch.Generator().manual_seed(0)), first)
    assert again.encoded == 0  # all three from disk

    edited = [p.copy() for p in pictures]
    edited[1].putpixel((10, 10), (255, 0, 255))
    after_edit = LatentCache(base, "disk", 64, root=tmp_path)
    latents = after_edit.latents(edited, torch.Generator().manual_seed(0))
    assert after_edit.encoded == 1  # only the edited image went through the VAE
    assert torch.allclose(latents[[0, 2]], first[[0, 2]])
    assert not torch.allclose(latents[1], first[1])


def test_a_different_vae_never_gets_a_cached_latent(base, tmp_path):
    pictures = images(2)
    LatentCache(base, "disk", 64, root=tmp_path).latents(pictures, torch.Generator().manual_seed(0))
    original = {k: v.clone() for k, v in base.vae.state_dict().items()}
    try:
        with torch.no_grad():
            base.vae.encoder.conv_in.weight.mul_(1.5)
        latent_cache._vae_fingerprints.pop(base.vae, None)
        changed = LatentCache(base, "disk", 64, root=tmp_path)
        changed.latents(pictures, torch.Generator().manual_seed(0))
        assert changed.encoded == 2
    finally:
        base.vae.load_state_dict(original)
        latent_cache._vae_fingerprints.pop(base.vae, None)


def test_memory_and_disk_give_the_same_latents_for_a_seed(base, tmp_path):
    pictures = images(2)
    memory = LatentCache(base, "memory", 64).latents(pictures, torch.Generator().manual_seed(5))
    disk = LatentCache(base, "disk", 64, root=tmp_path).latents(pictures, torch.Generator().manual_seed(5))
    assert torch.allclose(memory, disk, atol=1e-6)
