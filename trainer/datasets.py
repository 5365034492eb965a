"""Datasets: where training images and captions come from. One row per schema name (data.source)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from PIL import Image

from trainer import image_folder
from trainer.registry import Registry
from trainer.shapes.concepts import CONCEPTS


@dataclass(frozen=True)
class Source:
    summary: str
    load: Callable[[object], list[tuple[Image.Image, str]]]  # (the config's data section) -> (image, caption) pairs


DATASETS: Registry[Source] = Registry(
    "data source",
    {
        "shapes": Source("Captioned shapes drawn from a seed.", lambda data: CONCEPTS[data.concept].generate(data.images, data.seed, data.resolution)),
        "folder": Source("A kohya-style image folder.", lambda data: image_folder.read(data.path, data.resolution)),
    },
)
