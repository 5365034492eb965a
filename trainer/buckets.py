"""Aspect-ratio buckets: the training sizes, which one each image goes to, and how it is cut to fit.

Sizes are (width, height), as PIL and sd-scripts write them; SDXL's time ids
take (height, width), so train.py swaps them there and nowhere else.
Without buckets there is one, the square data.resolution: the same resize to
cover and centre crop, so both cases are one code path.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from PIL import Image

from trainer.config import ConfigError


def resolutions(resolution: int, min_side: int, max_side: int, step: int) -> list[tuple[int, int]]:
    """Every bucket (w, h) of about resolution² pixels, sides multiples of `step`, sorted.

    sd-scripts' make_bucket_resolutions (library/model_util.py): the square,
    then for each width from min_side to max_side the tallest height that
    keeps the area; each pair also turned on its side.
    """
    area = resolution * resolution
    sides = {(int(math.sqrt(area) // step) * step,) * 2}
    for width in range(min_side, max_side + 1, step):
        height = min(max_side, int(area // width // step) * step)
        if height >= min_side:
            sides |= {(width, height), (height, width)}
    return sorted(sides)


def of_config(data) -> list[tuple[int, int]]:
    """The buckets the data section asks for: data.resolution's square alone unless data.buckets."""
    if not data.buckets:
        return [(data.resolution, data.resolution)]
    if not data.bucket_min_side <= data.resolution <= data.bucket_max_side:
        raise ConfigError(
            f"data.resolution: {data.resolution} is outside data.bucket_min_side..data.bucket_max_side ({data.bucket_min_side}..{data.bucket_max_side}); "
            "buckets keep the area of the resolution's square, so it must fit between them"
        )
    return resolutions(data.resolution, data.bucket_min_side, data.bucket_max_side, data.bucket_step)


@dataclass(frozen=True)
class Placement:
    """Where one image goes: its bucket, the size it is resized to (covering the bucket), and the crop's top-left corner."""

    bucket: tuple[int, int]  # (w, h)
    resized: tuple[int, int]  # (w, h), each side >= the bucket's
    crop_top_left: tuple[int, int]  # (top, left) in the resized image

    @property
    def mirrored_crop_top_left(self) -> tuple[int, int]:
        """Where the crop starts once the resized image is mirrored (data.flip_aug): SDXL's crop ids of the flipped view."""
        top, left = self.crop_top_left
        return top, self.resized[0] - self.bucket[0] - left

    def fit(self, image: Image.Image) -> Image.Image:
        """The image as training sees it: resized to cover the bucket, then cropped to it."""
        top, left = self.crop_top_left
        resized = image.convert("RGB").resize(self.resized, Image.Resampling.LANCZOS)
        return resized.crop((left, top, left + self.bucket[0], top + self.bucket[1]))


def place(size: tuple[int, int], buckets: list[tuple[int, int]]) -> Placement:
    """The bucket nearest the image's aspect ratio (the first of a tie, as sd-scripts' argmin), covered and centre-cropped."""
    width, height = size
    ratio = width / height
    bucket = min(buckets, key=lambda b: abs(b[0] / b[1] - ratio))
    # Scale so that the image covers the bucket: a wider image matches its height, a taller one its width.
    scale = bucket[1] / height if ratio > bucket[0] / bucket[1] else bucket[0] / width
    resized = (max(bucket[0], round(width * scale)), max(bucket[1], round(height * scale)))
    return Placement(bucket, resized, ((resized[1] - bucket[1]) // 2, (resized[0] - bucket[0]) // 2))
