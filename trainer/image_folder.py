"""Read a dataset in kohya sd-scripts' folder layout: root/<repeats>_<name>/image.png + image.txt.

The layout every LoRA trainer (sd-scripts, kohya_ss, OneTrainer) accepts:
each subfolder is a concept, its number prefix is how often each image
repeats per epoch, and every image has a caption file of the same stem.

The whole folder is checked before training: every image is decoded once
(a truncated file fails here, not at step 900) and every caption read, and
all the problems are reported together, each by file name.
"""

from __future__ import annotations

import hashlib
import io
import re
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from trainer.example import Example

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp")
CAPTION_SUFFIXES = (".txt", ".caption")
CONCEPT_FOLDER = re.compile(r"^(\d+)_(.+)$")
PROBLEMS_SHOWN = 20


class DatasetError(ValueError):
    """A dataset folder that cannot be read; the message names the file or folder."""


def caption_of(image: Path) -> str:
    for suffix in CAPTION_SUFFIXES:
        if (path := image.with_suffix(suffix)).is_file():
            return path.read_text(encoding="utf-8").strip()
    raise DatasetError(f"no caption file ({' or '.join(image.stem + s for s in CAPTION_SUFFIXES)})")


def inspect(path: Path) -> tuple[tuple[int, int], str]:
    """(size (w, h), hash of the file's bytes), after decoding every pixel once."""
    content = path.read_bytes()
    try:
        with Image.open(io.BytesIO(content)) as image:
            image.load()  # decodes it all: Image.open alone reads only the header
            return image.size, hashlib.sha256(content).hexdigest()
    except (UnidentifiedImageError, OSError, ValueError) as error:
        raise DatasetError(f"not a readable image ({error})") from None


def example_of(path: Path) -> Example:
    """The image and its caption, checked; a DatasetError names everything wrong with the pair."""
    found, wrong = [], []
    for read in (inspect, caption_of):
        try:
            found.append(read(path))
        except DatasetError as problem:
            wrong.append(str(problem))
    if wrong:
        raise DatasetError("; ".join(wrong))
    (size, digest), caption = found
    return Example(path, size, caption, digest)


def scan(root: str | Path, field: str = "data.path") -> list[Example]:
    """Every image of the dataset with its caption, repeated as its folder's prefix says; every problem at once, under `field`."""
    root = Path(root).expanduser()
    if not str(root) or not root.is_dir():
        raise DatasetError(f"{field}: '{root}' is not a folder")
    folders = sorted(p for p in root.iterdir() if p.is_dir())
    if not folders:
        raise DatasetError(f"{field}: {root} has no concept folders; put images in folders named <repeats>_<name>, e.g. {root / '10_star'}")
    examples, problems = [], []
    for folder in folders:
        match = CONCEPT_FOLDER.match(folder.name)
        if match is None:
            problems.append(f"{folder.name}: a concept folder's name is <repeats>_<name>, e.g. 10_{folder.name}")
            continue
        images = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not images:
            problems.append(f"{folder.name}: no images ({', '.join(IMAGE_SUFFIXES)})")
        found = []
        for path in images:
            try:
                found.append(example_of(path))
            except DatasetError as problem:
                problems.append(f"{path.relative_to(root)}: {problem}")
        examples += found * int(match.group(1))
    if problems:
        more = f"\n  ... and {len(problems) - PROBLEMS_SHOWN} more" if len(problems) > PROBLEMS_SHOWN else ""
        raise DatasetError(f"{field}: {len(problems)} problem(s) in {root}:\n  " + "\n  ".join(problems[:PROBLEMS_SHOWN]) + more)
    if not examples:
        raise DatasetError(f"{field}: {root} holds no images after repeats (every folder has 0 repeats)")
    return examples
