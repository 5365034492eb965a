"""Concepts of the shapes world: which shapes and textures a dataset draws, and kohya folders of them.

"base" is what shapes-xl was pretrained on; the others are held out of
pretraining on purpose, so lessons can teach them: "star" a new object,
"striped" a new style.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from trainer import shapes
from trainer.registry import Registry


@dataclass(frozen=True)
class Concept:
    summary: str
    shapes: tuple[str, ...]
    textures: tuple[str, ...]
    # The evaluator heads that must agree with a prompt for its image to count as this concept.
    judged_by: tuple[str, ...] = ("shape", "color")

    def scenes(self, count: int, seed: int) -> list[shapes.Scene]:
        return shapes.scenes(count, seed, self.shapes, self.textures)

    def generate(self, count: int, seed: int, resolution: int, draw: str = "random") -> list[tuple[Image.Image, str]]:
        return shapes.generate(count, seed, resolution, self.shapes, self.textures, draw)


CONCEPTS: Registry[Concept] = Registry(
    "concept",
    {
        "base": Concept("What the base model was pretrained on: every base shape, filled or outlined.", shapes.BASE_SHAPES, shapes.BASE_TEXTURES),
        "star": Concept("A new object the base model has never seen: stars, in every colour.", shapes.HELD_OUT_SHAPES, ("plain",)),
        "striped": Concept("A new style the base model has never seen: base shapes filled with diagonal stripes.", shapes.BASE_SHAPES, shapes.HELD_OUT_TEXTURES, ("shape", "color", "texture")),
    },
)


def write_concept_set(root: Path, concept: str, count: int = 20, seed: int = 0, resolution: int = 64, repeats: int = 10) -> Path:
    """Write `count` images of `concept` as a kohya dataset: root/<repeats>_<concept>/0000.png + 0000.txt.

    The folder name's number is how many times each image is repeated per
    epoch (sd-scripts' convention); returns the concept folder.
    """
    if not 1 <= count <= 10_000:
        raise ValueError(f"count: {count} images; a concept set holds 1 to 10000")
    folder = Path(root) / f"{repeats}_{concept}"
    folder.mkdir(parents=True, exist_ok=True)
    for index, (image, caption) in enumerate(CONCEPTS[concept].generate(count, seed, resolution)):
        image.save(folder / f"{index:04d}.png")
        (folder / f"{index:04d}.txt").write_text(caption + "\n")
    return folder
