"""The caption each image is trained with at a step: dropped, or its tags shuffled and thinned out, as sd-scripts does.

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
    tag_dropout: float = 0.0

    @classmethod
    def of_config(cls, data) -> "CaptionOptions":
        return cls(shuffle=data.shuffle_caption, keep_tokens=data.keep_tokens, dropout=data.caption_dropout, tag_dropout=data.caption_tag_dropout)

    @property
    def varies(self) -> bool:
        """Whether an image's caption can differ from step to step."""
        return self.shuffle or self.dropout > 0 or self.tag_dropout > 0


def at_step(caption: str, options: CaptionOptions, seed: int, batch: int, image: int) -> str:
    """Image `image`'s caption in batch `batch`: empty with probability options.dropout; else its tags after the
    first keep_tokens shuffled (options.shuffle), then each of those dropped with probability options.tag_dropout."""
    if not options.varies:
        return caption
    rng = random.Random(f"{seed}:{batch}:{image}")
    if rng.random() < options.dropout:
        return ""
    if not (options.shuffle or options.tag_dropout):
        return caption
    tags = [tag.strip() for tag in caption.split(TAG_SEPARATOR)]
    kept, rest = tags[: options.keep_tokens], tags[options.keep_tokens :]
    if options.shuffle:
        rng.shuffle(rest)
    if options.tag_dropout:
        rest = [tag for tag in rest if rng.random() >= options.tag_dropout]
    return ", ".join(kept + rest)
