"""Datasets: where training images and captions come from (one row per schema name, data.source), and regularization images."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from trainer import image_folder
from trainer.config import ConfigError
from trainer.example import Example
from trainer.registry import Registry
from trainer.shapes.concepts import CONCEPTS

# Drawn regularization images come from their own seeds, never the dataset's (data.seed) or the evaluator's.
REG_SEED = 3_000_017


@dataclass(frozen=True)
class Source:
    summary: str
    load: Callable[[object], list[Example]]  # (the config's data section) -> every image, checked, pixels not held


def drawn(data) -> list[Example]:
    return [Example.drawn(image, caption) for image, caption in CONCEPTS[data.concept].generate(data.images, data.seed, data.resolution, data.draw)]


DATASETS: Registry[Source] = Registry(
    "data source",
    {
        "shapes": Source("Captioned shapes drawn from a seed.", drawn),
        "folder": Source("A kohya-style image folder.", lambda data: image_folder.scan(data.path)),
    },
)


def regularization(data) -> list[Example]:
    """data.reg_images base shapes drawn (source shapes), then data.reg_path's images, checked like the dataset's."""
    if data.reg_images and data.source != "shapes":
        raise ConfigError(f"data.reg_images: draws base shapes for data.source shapes, and data.source is '{data.source}'; put your regularization images in data.reg_path")
    found = [Example.drawn(image, caption) for image, caption in CONCEPTS["base"].generate(data.reg_images, data.seed + REG_SEED, data.resolution, data.draw)] if data.reg_images else []
    return found + (image_folder.scan(data.reg_path, field="data.reg_path") if data.reg_path else [])


def balanced(reg: list[Example], count: int) -> list[Example]:
    """As many regularization images as training images, as sd-scripts balances them: cycled when fewer, the first `count` when more."""
    return [reg[i % len(reg)] for i in range(count)] if reg else []


def load(data) -> tuple[list[Example], list[Example]]:
    """(training images, regularization images balanced to their number); the problems of both folders in one error."""
    found, problems = [], []
    for read in (DATASETS[data.source].load, regularization):
        try:
            found.append(read(data))
        except image_folder.DatasetError as problem:
            problems.append(str(problem))
    if problems:
        raise image_folder.DatasetError("\n".join(problems))
    train, reg = found
    return train, balanced(reg, len(train))
