"""Aspect-ratio buckets: sd-scripts' bucket set, each image in the nearest bucket, one bucket per batch."""

import pytest
import torch
from PIL import Image

from trainer import buckets
from trainer import config as configs
from trainer.batches import batch_indices, shuffled_chain
from trainer.config import ConfigError

# SDXL's training sizes (the SDXL report's appendix), as (w, h).
SDXL = {
    (512, 2048), (512, 1984), (512, 1920), (512, 1856), (576, 1792), (576, 1728), (576, 1664), (640, 1600), (640, 1536),
    (704, 1472), (704, 1408), (704, 1344), (768, 1344), (768, 1280), (832, 1216), (832, 1152), (896, 1152), (896, 1088),
    (960, 1088), (960, 1024), (1024, 1024), (1024, 960), (1088, 960), (1088, 896), (1152, 896), (1152, 832), (1216, 832),
    (1280, 768), (1344, 768), (1344, 704), (1408, 704), (1472, 704), (1536, 640), (1600, 640), (1664, 576), (1728, 576),
    (1792, 576), (1856, 512), (1920, 512), (1984, 512), (2048, 512),
}  # fmt: skip
# sd-scripts makes one bucket per width (the tallest height within the area); SDXL also trained these second-tallest ones.
SDXL_SECOND_HEIGHTS = {(704, 1344), (832, 1152), (896, 1088), (960, 1024), (1024, 960), (1088, 896), (1152, 832), (1344, 704)}


def test_bucket_set_for_1024_step_64_is_sdxls():
    assert set(buckets.resolutions(1024, 512, 2048, 64)) == SDXL - SDXL_SECOND_HEIGHTS
    # The default min side 256 adds sd-scripts' four narrowest pairs beyond SDXL's 1:4.
    extra = set(buckets.resolutions(1024, 256, 2048, 64)) - SDXL
    assert extra == {(w, 2048) for w in (256, 320, 384, 448)} | {(2048, h) for h in (256, 320, 384, 448)}
    assert all(w * h <= 1024 * 1024 and w % 64 == 0 and h % 64 == 0 for w, h in buckets.resolutions(1024, 256, 2048, 64))


@pytest.mark.parametrize(
    "size, bucket",
    [((1000, 1000), (1024, 1024)), ((1600, 1200), (1152, 896)), ((1200, 1600), (896, 1152)), ((1920, 1080), (1344, 768)), ((3000, 1000), (1728, 576))],
)
def test_each_image_goes_to_the_bucket_nearest_its_aspect_ratio(size, bucket):
    placement = buckets.place(size, buckets.resolutions(1024, 256, 2048, 64))
    assert placement.bucket == bucket
    w, h = placement.resized
    assert w >= bucket[0] and h >= bucket[1] and (w == bucket[0] or h == bucket[1])  # covers it, one side exact
    top, left = placement.crop_top_left
    assert (top, left) == ((h - bucket[1]) // 2, (w - bucket[0]) // 2)  # centred


def test_fit_resizes_to_cover_and_crops_the_centre():
    image = Image.new("RGB", (200, 100), (0, 0, 255))
    image.paste((255, 0, 0), (0, 0, 50, 100))  # a red left quarter, cropped away by a square centre crop
    placement = buckets.place(image.size, [(32, 32)])
    assert placement.resized == (64, 32) and placement.crop_top_left == (0, 16)
    fitted = placement.fit(image)
    assert fitted.size == (32, 32) and fitted.getpixel((4, 16)) == (0, 0, 255)


def test_resolution_outside_the_bucket_sides_names_the_fields():
    data = configs.load({"data": {"resolution": 64, "buckets": True}}).data
    with pytest.raises(ConfigError, match=r"data.resolution: 64 is outside data.bucket_min_side..data.bucket_max_side \(256..2048\)"):
        buckets.of_config(data)


def test_batches_hold_one_bucket_and_each_bucket_deals_all_its_images_in_turn():
    by_bucket = [torch.arange(0, 5), torch.arange(5, 7), torch.arange(7, 16)]  # 5, 2 and 9 images
    per_epoch = 3 + 1 + 5  # ceil(n / 2) batches of each bucket
    batches = [batch_indices(i, by_bucket, 2, seed=4) for i in range(3 * per_epoch)]
    single_bucket = 0
    for images in by_bucket:
        mine = [b for b in batches if set(b.tolist()) <= set(images.tolist())]
        single_bucket += len(mine)
        assert len(mine) == 3 * ((len(images) + 1) // 2)  # its share of every epoch, in full batches of 2
        dealt = torch.cat(mine)
        for start in range(0, len(dealt) - len(images) + 1, len(images)):  # a fresh shuffle each time round
            assert sorted(dealt[start : start + len(images)].tolist()) == images.tolist()
    assert single_bucket == len(batches)  # no batch mixes buckets
    first_epoch = [int(b[0]) for b in batches[:per_epoch]]
    assert first_epoch != sorted(first_epoch)  # buckets take turns in a shuffled order, not one after another
    assert torch.equal(batch_indices(11, by_bucket, 2, seed=4), batch_indices(11, by_bucket, 2, seed=4))


def test_one_bucket_keeps_the_order_of_training_without_buckets():
    # The order an unbucketed run has always had: one chain of per-epoch shuffles of the whole dataset.
    for b in range(7):
        assert torch.equal(batch_indices(b, [torch.arange(6)], 4, seed=2), shuffled_chain(b, 6, 4, seed=2))
