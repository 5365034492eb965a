"""Datasets: where training images and captions come from. One row per schema name (data.source)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from trainer import image_folder
from trainer.example import Example
from trainer.registry import Registry
from trainer.shapes.concepts import CONCEPTS


@dataclass(frozen=True)
class Source:
    summary: str
    load: Callable[[object], list[Example]]  # (the config's data section) -> every image, checked, pixels not held


def drawn(data) -> list[Example]:
    return [Example.drawn(image, caption) for image, caption in CONCEPTS[data.concept].generate(data.images, data.seed, data.resolution)]


DATASETS: Registry[Source] = Registry(
    "data source",
    {
        "shapes": Source("Captioned shapes drawn from a seed.", drawn),
        "folder": Source("A kohya-style image folder.", lambda data: image_folder.scan(data.path)),
    },
)
