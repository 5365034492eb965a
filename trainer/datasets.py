"""Datasets: where training images and captions come from. One row per schema name (data.generator)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from PIL import Image

from trainer import shapes
from trainer.registry import Registry


@dataclass(frozen=True)
class Generator:
    summary: str
    generate: Callable[[int, int, int], list[tuple[Image.Image, str]]]  # (count, seed, resolution)


DATASETS: Registry[Generator] = Registry(
    "data generator",
    {
        "shapes": Generator("Captioned shapes drawn from a seed.", lambda count, seed, resolution: shapes.generate(count, seed, resolution)),
    },
)
