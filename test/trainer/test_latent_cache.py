"""The latent cache: disk entries are keyed by image content, bucket placement and VAE, so nothing stale is served."""

import torch

from trainer import buckets, shapes, tensor_store
from trainer.example import Example
from trainer.latent_cache import LatentCache

SQUARE = [(64, 64)]


def examples(n=3, seed=0):
    return [Example.drawn(image, caption) for image, caption in shapes.generate(n, seed, 64)]


def latents(cache, pictures, seed=0, sides=SQUARE):
    return torch.stack(cache.latents(pictures, [buckets.place(p.size, sides) for p in pictures], torch.Generator().manual_seed(seed)))


def test_disk_cache_recomputes_only_the_changed_image(base, tmp_path):
    pictures = examples()
    cache = LatentCache(base, "disk", root=tmp_path)
    first = latents(cache, pictures)
    assert cache.encoded == 3

    again = LatentCache(base, "disk", root=tmp_path)
    assert torch.allclose(latents(again, pictures), first)
    assert again.encoded == 0  # all three from disk

    edited = pictures[1].image().copy()
    edited.putpixel((10, 10), (255, 0, 255))
    pictures[1] = Example.drawn(edited, pictures[1].caption)
    after_edit = LatentCache(base, "disk", root=tmp_path)
    changed = latents(after_edit, pictures)
    assert after_edit.encoded == 1  # only the edited image went through the VAE
    assert torch.allclose(changed[[0, 2]], first[[0, 2]])
    assert not torch.allclose(changed[1], first[1])


def test_a_different_placement_is_a_different_entry(base, tmp_path):
    pictures = examples(1)
    square = latents(LatentCache(base, "disk", root=tmp_path), pictures)
    elsewhere = LatentCache(base, "disk", root=tmp_path)
    assert latents(elsewhere, pictures, sides=[(48, 48)]).shape[-1] == square.shape[-1] * 48 // 64
    assert elsewhere.encoded == 1


def test_repeats_go_through_the_vae_once(base):
    pictures = examples(2)
    cache = LatentCache(base, "memory")
    sampled = latents(cache, pictures * 3)
    assert cache.encoded == 2
    assert not torch.allclose(sampled[0], sampled[2])  # each repeat is its own sample of the same distribution


def test_a_different_vae_never_gets_a_cached_latent(base, tmp_path):
    pictures = examples(2)
    latents(LatentCache(base, "disk", root=tmp_path), pictures)
    original = {k: v.clone() for k, v in base.vae.state_dict().items()}
    try:
        with torch.no_grad():
            base.vae.encoder.conv_in.weight.mul_(1.5)
        tensor_store._fingerprints.pop(base.vae, None)
        changed = LatentCache(base, "disk", root=tmp_path)
        latents(changed, pictures)
        assert changed.encoded == 2
    finally:
        base.vae.load_state_dict(original)
        tensor_store._fingerprints.pop(base.vae, None)


def test_memory_and_disk_give_the_same_latents_for_a_seed(base, tmp_path):
    pictures = examples(2)
    memory = latents(LatentCache(base, "memory"), pictures, seed=5)
    disk = latents(LatentCache(base, "disk", root=tmp_path), pictures, seed=5)
    assert torch.allclose(memory, disk, atol=1e-6)
