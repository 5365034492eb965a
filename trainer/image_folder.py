"""Read a dataset in kohya sd-scripts' folder layout: root/<repeats>_<name>/image.png + image.txt.

The layout every LoRA trainer (sd-scripts, kohya_ss, OneTrainer) accepts:
each subfolder is a concept, its number prefix is how often each image
repeats per epoch, and every image has a caption file of the same stem.
"""

from __future__ import annotations

import re
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp")
CAPTION_SUFFIXES = (".txt", ".caption")
CONCEPT_FOLDER = re.compile(r"^(\d+)_(.+)$")


class DatasetError(ValueError):
    """A dataset folder that cannot be read; the message names the file or folder."""


def caption_of(image: Path) -> str:
    for suffix in CAPTION_SUFFIXES:
        if (path := image.with_suffix(suffix)).is_file():
            return path.read_text(encoding="utf-8").strip()
    raise DatasetError(f"{image}: no caption file ({' or '.join(image.stem + s for s in CAPTION_SUFFIXES)})")


def open_image(path: Path, resolution: int) -> Image.Image:
    try:
        with Image.open(path) as image:
            # Centre-crop to a square, then resize: the shapes world and SDXL's buckets both train on whole frames.
            return ImageOps.fit(image.convert("RGB"), (resolution, resolution), Image.Resampling.LANCZOS)
    except (UnidentifiedImageError, OSError) as error:
        raise DatasetError(f"{path}: not a readable image ({error})") from None


def read(root: str | Path, resolution: int) -> list[tuple[Image.Image, str]]:
    """Every (image, caption) pair of the dataset, each repeated as its folder's prefix says."""
    root = Path(root).expanduser()
    if not str(root) or not root.is_dir():
        raise DatasetError(f"data.path: '{root}' is not a folder")
    folders = sorted(p for p in root.iterdir() if p.is_dir())
    if not folders:
        raise DatasetError(f"data.path: {root} has no concept folders; put images in folders named <repeats>_<name>, e.g. {root / '10_star'}")
    pairs = []
    for folder in folders:
        match = CONCEPT_FOLDER.match(folder.name)
        if match is None:
            raise DatasetError(f"{folder}: a concept folder's name is <repeats>_<name>, e.g. 10_{folder.name}")
        images = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not images:
            raise DatasetError(f"{folder}: no images ({', '.join(IMAGE_SUFFIXES)})")
        repeats = int(match.group(1))
        pairs += [(open_image(path, resolution), caption_of(path)) for path in images] * repeats
    if not pairs:
        raise DatasetError(f"data.path: {root} holds no images after repeats (every folder has 0 repeats)")
    return pairs
