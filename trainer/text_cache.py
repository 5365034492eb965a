"""Text-encoder outputs of the captions, encoded once by the frozen text encoders instead of every batch.

`memory` keeps them for one run; `disk` also stores them under .cache/text/,
keyed by a hash of the caption's token ids, every text encoder's weights and the clip skip (what
sd-scripts' cache_text_encoder_outputs_to_disk keeps beside the images).
Every caption a run can use is encoded before training, so the text encoders
can wait on the CPU until sampling. Caption dropout still works (the empty
caption is one more entry); shuffled captions, new every step, cannot be cached.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from trainer import models, tensor_store
from trainer.config import ConfigError
from trainer.tensor_store import TensorStore

DEFAULT_ROOT = tensor_store.CACHE_ROOT / "text"
ENCODE_BATCH = 64  # captions through the text encoders at once while filling the cache


def mode(cfg) -> str:
    """training.cache_text_encoder_outputs as the run uses it: `auto` is memory when every caption's output
    stays the same all run, else off; memory or disk where outputs change is refused, naming both fields
    (sd-scripts refuses the same pairs)."""
    configured = cfg.training.cache_text_encoder_outputs
    changing = (
        ("data.shuffle_caption", "a shuffled caption is new every step") if cfg.data.shuffle_caption
        else ("data.caption_tag_dropout", "a caption with tags dropped is new every step") if cfg.data.caption_tag_dropout
        else ("method.train_text_encoder", "trained text encoders change every step") if cfg.method.train_text_encoder
        else ("method.embedding_words", "trained word embeddings change their captions' outputs every step") if cfg.method.embedding_words
        else None
    )
    if configured == "auto":
        return "off" if changing else "memory"
    if configured != "off" and changing:
        field, why = changing
        raise ConfigError(
            f"training.cache_text_encoder_outputs: '{configured}' with {field}: {why}, "
            "so the outputs cannot be cached; set cache_text_encoder_outputs to off"
        )
    return configured


def encoders(base: models.BaseModel) -> list[torch.nn.Module]:
    return [encoder for _, encoder in base.text_encoders]


class TextCache:
    def __init__(self, base: models.BaseModel, mode: str, clip_skip: int = 1, max_token_length: int = models.TOKENS_PER_WINDOW, root: Path | None = None):
        self.base, self.clip_skip, self.max_token_length = base, clip_skip, max_token_length
        self.store = TensorStore(mode, root or DEFAULT_ROOT)
        # The token ids in each key say how long captions are cut; the clip skip is said here.
        self.fingerprint = tensor_store.key(*(tensor_store.fingerprint(e) for e in encoders(base)), f"clip_skip={clip_skip}")
        self._keys: dict[str, str] = {}  # caption -> key, tokenized once

    @property
    def encoded(self) -> int:
        """Captions that went through the text encoders (the rest came from disk)."""
        return self.store.computed

    def fill(self, captions: list[str]) -> None:
        """Encode every caption not yet held (or on disk)."""

        @torch.no_grad()
        def encode(missing: list[int]) -> list[dict[str, torch.Tensor]]:
            entries = []
            for start in range(0, len(missing), ENCODE_BATCH):
                embeds, pooled = models.encode_prompts(self.base, [captions[i] for i in missing[start : start + ENCODE_BATCH]], self.clip_skip, self.max_token_length)  # (n, T, D), (n, P) or None
                entries += [{"embeds": e} | ({} if pooled is None else {"pooled": pooled[i]}) for i, e in enumerate(embeds)]
            return entries

        self.store.fill([self._key(c) for c in captions], encode)

    def __call__(self, captions: list[str]) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(prompt_embeds (B, T, D), pooled (B, P) or None) of captions that fill() has seen."""
        entries = [self.store[self._key(c)] for c in captions]
        pooled = torch.stack([e["pooled"] for e in entries]) if "pooled" in entries[0] else None
        return torch.stack([e["embeds"] for e in entries]), pooled

    def _key(self, caption: str) -> str:
        """By the token ids each tokenizer makes of the caption, not its text: an edited tokenizer never reads another's entries."""
        if caption not in self._keys:
            ids = [models.token_ids(tokenizer, [caption], self.max_token_length)[0].tolist() for tokenizer, _ in self.base.text_encoders]
            self._keys[caption] = tensor_store.key(self.fingerprint, json.dumps(ids))
        return self._keys[caption]
