"""The shapes world: a procedural dataset of small captioned images.

Every image is one shape (circle, square, ...) of one colour, size and texture
(filled, outlined), at one of nine positions, on a plain background, e.g. "a
small red circle at the top left on a white background" or "a large outlined
blue hexagon in the center on a black background". Everything is drawn from one
seed, so the same seed always gives the same dataset, pixel for pixel.

Some concepts are held out of the base model's training on purpose, so that
lessons can teach them as new concepts: the "star" shape and the "striped"
texture. `generate` leaves them out unless asked for them.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from PIL import Image, ImageChops, ImageDraw, ImageFilter

# ---- the vocabulary: every word a caption can use ---------------------------

BASE_SHAPES = ("circle", "square", "triangle", "diamond", "hexagon")
HELD_OUT_SHAPES = ("star",)
SHAPES = BASE_SHAPES + HELD_OUT_SHAPES

COLORS = {
    "red": (220, 40, 40),
    "green": (40, 170, 60),
    "blue": (40, 80, 220),
    "yellow": (240, 210, 40),
    "purple": (140, 60, 190),
    "orange": (245, 140, 30),
}
BACKGROUNDS = {
    "white": (250, 250, 250),
    "black": (15, 15, 15),
    "gray": (128, 128, 128),
}
# Radius as a fraction of the image side.
SIZES = {"small": 0.11, "large": 0.2}
# Position phrase -> centre as fractions of the image side (x, y).
POSITIONS = {
    "at the top left": (0.27, 0.27),
    "at the top": (0.5, 0.27),
    "at the top right": (0.73, 0.27),
    "on the left": (0.27, 0.5),
    "in the center": (0.5, 0.5),
    "on the right": (0.73, 0.5),
    "at the bottom left": (0.27, 0.73),
    "at the bottom": (0.5, 0.73),
    "at the bottom right": (0.73, 0.73),
}
BASE_TEXTURES = ("plain", "outlined")  # "plain" is never written in the caption
HELD_OUT_TEXTURES = ("striped",)
TEXTURES = BASE_TEXTURES + HELD_OUT_TEXTURES

# Function words of the caption template.
_TEMPLATE_WORDS = ("a", "on", "background")


def vocabulary() -> list[str]:
    """Every word a caption can contain, held-out concepts included, sorted."""
    words = set(_TEMPLATE_WORDS)
    words.update(SHAPES, COLORS, BACKGROUNDS, SIZES, TEXTURES)
    words.discard("plain")
    for phrase in POSITIONS:
        words.update(phrase.split())
    return sorted(words)


# ---- one image --------------------------------------------------------------


@dataclass(frozen=True)
class Scene:
    """What one image shows; its caption is derived from it."""

    shape: str
    color: str
    size: str
    position: str
    background: str
    texture: str = "plain"

    @property
    def caption(self) -> str:
        texture = "" if self.texture == "plain" else f"{self.texture} "
        return f"a {self.size} {texture}{self.color} {self.shape} {self.position} on a {self.background} background"


# Draw at 4x and downsample: PIL's polygons have no anti-aliasing of their own.
_SUPERSAMPLE = 4
# Line width of an outlined shape, in output pixels (odd: MinFilter needs an odd size).
_OUTLINE_WIDTH = 3


def _outline(shape: str, cx: float, cy: float, r: float) -> list[tuple[float, float]] | None:
    """Polygon vertices of a shape centred at (cx, cy) with radius r; None for a circle."""

    def regular(n: int, radius: float, start: float) -> list[tuple[float, float]]:
        return [(cx + radius * math.cos(start + 2 * math.pi * i / n), cy + radius * math.sin(start + 2 * math.pi * i / n)) for i in range(n)]

    match shape:
        case "circle":
            return None
        case "square":
            return regular(4, r * math.sqrt(2), math.pi / 4)
        case "diamond":
            return regular(4, r * 1.2, -math.pi / 2)
        case "triangle":
            # Nudged down so it looks centred (its centroid sits low in its box).
            return [(x, y + r * 0.15) for x, y in regular(3, r * 1.25, -math.pi / 2)]
        case "hexagon":
            return regular(6, r * 1.1, 0)
        case "star":
            outer = regular(5, r * 1.3, -math.pi / 2)
            inner = regular(5, r * 0.55, -math.pi / 2 + math.pi / 5)
            return [p for pair in zip(outer, inner) for p in pair]
    raise ValueError(f"unknown shape '{shape}'; known: {', '.join(SHAPES)}")


def render(scene: Scene, resolution: int) -> Image.Image:
    """Render one scene as an RGB image of side `resolution`."""
    side = resolution * _SUPERSAMPLE
    image = Image.new("RGB", (side, side), BACKGROUNDS[scene.background])
    # The shape is drawn into a mask first, so textures can fill it.
    mask = Image.new("L", (side, side), 0)
    fx, fy = POSITIONS[scene.position]
    cx, cy, r = fx * side, fy * side, SIZES[scene.size] * side
    outline = _outline(scene.shape, cx, cy, r)
    if outline is None:
        ImageDraw.Draw(mask).ellipse((cx - r, cy - r, cx + r, cy + r), fill=255)
    else:
        ImageDraw.Draw(mask).polygon(outline, fill=255)
    fill = Image.new("RGB", (side, side), COLORS[scene.color])
    if scene.texture == "striped":
        # Diagonal stripes of the background colour across the shape.
        stripes = ImageDraw.Draw(fill)
        period = side // 8
        for offset in range(-side, side, period):
            stripes.line((offset, side, offset + side, 0), fill=BACKGROUNDS[scene.background], width=period // 3)
    if scene.texture == "outlined":
        # Only a ring of the shape stays: erode the mask and cut the inside out.
        inside = mask.filter(ImageFilter.MinFilter(_OUTLINE_WIDTH * _SUPERSAMPLE + 1))
        mask = ImageChops.subtract(mask, inside)
    image.paste(fill, (0, 0), mask)
    return image.resize((resolution, resolution), Image.Resampling.LANCZOS)


# ---- a dataset --------------------------------------------------------------


def _dealt(rng: random.Random, values, count: int) -> list:
    """`count` values dealt from a shuffled deck of `values`, reshuffled whenever it runs out: each value as often as count allows."""
    out: list = []
    while len(out) < count:
        deck = list(values)
        rng.shuffle(deck)
        out += deck
    return out[:count]


def scenes(count: int, seed: int, shapes=BASE_SHAPES, textures=BASE_TEXTURES, draw: str = "random") -> list[Scene]:
    """`count` scenes drawn from `seed` (colours and backgrounds never coincide: their palettes are disjoint).

    random: every attribute of every scene picked independently, so 20 scenes may hold no yellow and eight reds.
    even: every attribute dealt from its own deck, as a curated dataset varies everything but its subject evenly.
    """
    rng = random.Random(seed)
    columns = {"shape": shapes, "color": sorted(COLORS), "size": sorted(SIZES), "position": list(POSITIONS), "background": sorted(BACKGROUNDS), "texture": textures}
    if draw == "even":
        dealt = {name: _dealt(rng, values, count) for name, values in columns.items()}
        return [Scene(**{name: values[i] for name, values in dealt.items()}) for i in range(count)]
    return [Scene(**{name: rng.choice(values) for name, values in columns.items()}) for _ in range(count)]


def generate(count: int, seed: int, resolution: int = 64, shapes=BASE_SHAPES, textures=BASE_TEXTURES, draw: str = "random") -> list[tuple[Image.Image, str]]:
    """`count` (image, caption) pairs, deterministic from `seed` (and `draw`: random or even, as `scenes` draws them).

    By default only the base concepts appear; pass e.g. shapes=("star",) to
    draw a held-out concept.
    """
    return [(render(scene, resolution), scene.caption) for scene in scenes(count, seed, shapes, textures, draw)]
