"""Pivotal tuning: the input embeddings of chosen caption words, trained beside the adapter (method.embedding_words).

A word's input embedding is the vector its token enters a text encoder with;
textual inversion trains exactly that. Training it moves where the word lands
in the text encoders' output, so a concept gets conditioning of its own instead
of sharing its neighbours'. No weight of the text encoders changes, so a prompt
without the word is encoded exactly as before.

The vectors live outside the text encoders: a forward hook on each one's token
embedding puts them in wherever the word's token appears, and removing the hook
leaves the base model as it was. The adapter file carries them as
AUTOMATIC1111's bundled embeddings, which A1111 and Forge load with the LoRA,
the word in a prompt calling them up: bundle_emb.<word>.clip_l and .clip_g for
SDXL, bundle_emb.<word>.string_to_param.* for SD1.x and SD2.x. ComfyUI and
sd-scripts skip those keys, so each word is also saved as an embedding file of
its own (files()), which they load from their embeddings folders.
"""

from __future__ import annotations

import torch

from trainer.config import ConfigError

BUNDLE = "bundle_emb"
# Each text encoder's vector in A1111's embedding files, by how many text encoders the family has.
VECTOR_NAMES = {1: ("string_to_param.*",), 2: ("clip_l", "clip_g")}
# The same vectors in an embedding file of the word's own, where SD1.x and SD2.x name theirs emb_params.
FILE_NAMES = {"string_to_param.*": "emb_params"}


def token_of(tokenizer, word: str, index: int) -> int:
    """The one token `word` is for this tokenizer; a word of several tokens would need a vector for each, which is refused."""
    ids = tokenizer(word, add_special_tokens=False).input_ids
    if len(ids) != 1:
        raise ConfigError(f"method.embedding_words[{index}]: '{word}' is {len(ids)} tokens for the tokenizer, and each entry must be one word of one token (a caption word such as 'star', or a rare trigger word)")
    return ids[0]


class WordEmbeddings(torch.nn.Module):
    """One trainable vector per word and text encoder, started from the word's own embedding."""

    def __init__(self, base, words: tuple[str, ...]):
        super().__init__()
        if len(set(words)) != len(words):
            raise ConfigError(f"method.embedding_words: {list(words)} names a word twice")
        self.words = words
        self.vectors = torch.nn.ParameterList()  # per text encoder: (W, D_i)
        self.tokens: list[list[int]] = []  # per text encoder: each word's token id (plain ints: read on every forward, no device sync)
        self.hooks = []
        self.tokenizer = base.text_encoders[0][0]
        for tokenizer, encoder in base.text_encoders:
            table = encoder.get_input_embeddings()
            tokens = [token_of(tokenizer, word, i) for i, word in enumerate(words)]
            self.vectors.append(torch.nn.Parameter(table.weight[tokens].detach().float().clone()))
            self.tokens.append(tokens)
            self.hooks.append(table.register_forward_hook(self._replacer(len(self.vectors) - 1)))
        self.names = VECTOR_NAMES[len(self.vectors)]

    def _replacer(self, encoder: int):
        def replace(module, inputs, output):  # output (B, T, D): the token embeddings of input ids (B, T)
            ids = inputs[0]
            vectors = self.vectors[encoder].to(output.dtype)
            for word, token in enumerate(self.tokens[encoder]):
                output = torch.where((ids == token)[..., None], vectors[word], output)
            return output

        return replace

    def check_used(self, captions: list[str]) -> None:
        """A word no caption has would never train: refused before training starts. Read as the first text encoder
        reads the captions, so "star," in a tag list counts."""
        seen = set().union(*(self.tokenizer(caption).input_ids for caption in set(captions)))
        for index, (word, token) in enumerate(zip(self.words, self.tokens[0])):
            if token not in seen:
                raise ConfigError(f"method.embedding_words[{index}]: no caption of the dataset has the word '{word}', so its embedding would never train")

    def by_word(self) -> dict[str, dict[str, torch.Tensor]]:
        """Each word's vectors, (1, D_i) per text encoder, under their names in A1111's files (VECTOR_NAMES)."""
        return {word: {name: vectors[w : w + 1] for vectors, name in zip(self.vectors, self.names)} for w, word in enumerate(self.words)}

    def bundle(self) -> dict[str, torch.Tensor]:
        """A1111's bundled embeddings: bundle_emb.<word>.<vector name> -> (1, D_i)."""
        return {f"{BUNDLE}.{word}.{name}": vector for word, vectors in self.by_word().items() for name, vector in vectors.items()}

    def files(self) -> dict[str, dict[str, torch.Tensor]]:
        """Each word as the tensors of an embedding file of its own, as ComfyUI (prompted as embedding:<word>),
        sd-scripts, A1111 and Forge load one: SDXL's clip_l and clip_g, SD1.x's and SD2.x's emb_params, (1, D_i) each."""
        return {word: {FILE_NAMES.get(name, name): vector for name, vector in vectors.items()} for word, vectors in self.by_word().items()}

    @torch.no_grad()
    def load_bundle(self, weights: dict[str, torch.Tensor]) -> None:
        for vectors, name in zip(self.vectors, self.names):
            for w, word in enumerate(self.words):
                vectors[w].copy_(weights[f"{BUNDLE}.{word}.{name}"].reshape(-1))

    def remove(self) -> None:
        """The text encoders as they were: no word replaced."""
        for hook in self.hooks:
            hook.remove()
        self.hooks = []
