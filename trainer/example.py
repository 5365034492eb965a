"""One training image as the data scan found it: where its pixels are, its real size and its caption.

The pixels are not held: a batch reads them when it needs them (in a
DataLoader worker, or once for the latent cache), so a dataset of thousands
of large images costs the memory of their paths and sizes.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from PIL import Image


@dataclass(frozen=True)
class Example:
    source: Path | Image.Image  # an image file, or an image drawn in memory (the shapes world)
    size: tuple[int, int]  # (w, h) as found, before any resize or crop
    caption: str
    digest: str  # hash of the file's bytes or the drawn pixels: what cached latents are keyed by

    @classmethod
    def drawn(cls, image: Image.Image, caption: str) -> "Example":
        rgb = image.convert("RGB")
        return cls(rgb, rgb.size, caption, hashlib.sha256(f"{rgb.size}".encode() + rgb.tobytes()).hexdigest())

    def image(self) -> Image.Image:
        if isinstance(self.source, Image.Image):
            return self.source
        with Image.open(self.source) as image:
            return image.convert("RGB")
