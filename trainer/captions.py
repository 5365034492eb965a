"""The caption each image is trained with at a step: dropped, or its tags shuffled, as sd-scripts does.

Every draw comes from a generator seeded by (seed, batch, image), never from
shared state: a resumed run sees the captions the uninterrupted one saw, and
processes that split a batch between them agree on every caption.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

TAG_SEPARATOR = ","


@dataclass(frozen=True)
class CaptionOptions:
    shuffle: bool = False
    keep_tokens: int = 0
    dropout: float = 0.0

    @classmethod
    def of_config(cls, data) -> "CaptionOptions":
        return cls(shuffle=data.shuffle_caption, keep_tokens=data.keep_tokens, dropout=data.caption_dropout)

    @property
    def varies(self) -> bool:
        """Whether an image's caption can differ from step to step."""
        return self.shuffle or self.dropout > 0


def shuffled(caption: str, keep_tokens: int, rng: random.Random) -> str:
    """The caption's comma-separated tags in a random order, the first keep_tokens in place."""
    tags = [tag.strip() for tag in caption.split(TAG_SEPARATOR)]
    kept, rest = tags[:keep_tokens], tags[keep_tokens:]
    rng.shuffle(rest)
    return ", ".join(kept + rest)


def at_step(caption: str, options: CaptionOptions, seed: int, batch: int, image: int) -> str:
    """Image `image`'s caption in batch `batch`: empty with probability options.dropout, else (maybe) shuffled."""
    if not options.varies:
        return caption
    rng = random.Random(f"{seed}:{batch}:{image}")
    if rng.random() < options.dropout:
        return ""
    return shuffled(caption, options.keep_tokens, rng) if options.shuffle else caption
