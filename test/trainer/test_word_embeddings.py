"""Pivotal tuning (method.embedding_words): a word's input embedding trains beside the adapter, and nothing else of the text encoders moves."""

import pytest
import torch
from safetensors import safe_open

from trainer import config as configs
from trainer import models, text_cache
from trainer.config import ConfigError
from trainer.events import EventRecords
from trainer.methods.word_embeddings import WordEmbeddings
from trainer.train import ADAPTER_FILE, train

STAR = ["a large red star in the center on a white background"]
CIRCLE = ["a large red circle in the center on a white background"]
RUN = {"data": {"concept": "star", "images": 4}, "optimizer": {"lr": 1e-2}, "training": {"max_steps": 3, "batch_size": 2, "seed": 0}}


def encode(base, prompts):
    with torch.no_grad():
        return models.encode_prompts(base, prompts)


def test_only_prompts_with_the_word_read_its_vectors_and_removing_restores_the_encoders(base):
    star, circle = encode(base, STAR), encode(base, CIRCLE)
    embeddings = WordEmbeddings(base, ("star",))
    try:
        torch.testing.assert_close(encode(base, STAR), star)  # started from the word's own embedding
        with torch.no_grad():
            for vectors in embeddings.vectors:
                vectors.add_(0.5)
        moved = encode(base, STAR)
        assert not torch.allclose(moved[0], star[0]) and not torch.allclose(moved[1], star[1])  # both encoders, and SDXL's pooled
        for now, before in zip(encode(base, CIRCLE), circle):
            assert torch.equal(now, before)
    finally:
        embeddings.remove()
    for now, before in zip(encode(base, STAR), star):
        assert torch.equal(now, before)


def test_a_run_trains_the_vectors_at_their_lr_and_leaves_the_text_encoders_alone(base, tmp_path):
    tables = [encoder.get_input_embeddings().weight.clone() for _, encoder in base.text_encoders]
    events = []
    train({**RUN, "method": {"name": "lora", "embedding_words": ["star"], "embedding_lr": 0.05}}, tmp_path, EventRecords(events.append), load_model=lambda *_: base)
    assert events[-1]["type"] == "finished", events[-1]
    assert events[0]["lr_groups"] == ["unet", "embeddings"]
    assert all(e["lrs"][1] == 0.05 for e in events if e["type"] == "step")
    for (tokenizer, encoder), table in zip(base.text_encoders, tables):
        assert torch.equal(encoder.get_input_embeddings().weight, table)
        assert not encoder.get_input_embeddings()._forward_hooks  # the hooks went with the run
    with safe_open(str(tmp_path / ADAPTER_FILE), "pt") as f:
        for (tokenizer, _), table, name in zip(base.text_encoders, tables, ("clip_l", "clip_g")):
            (token,) = tokenizer("star", add_special_tokens=False).input_ids
            trained = f.get_tensor(f"bundle_emb.star.{name}")
            assert trained.shape == (1, table.shape[1])
            assert not torch.allclose(trained[0], table[token])


@pytest.mark.parametrize(
    ("method", "data", "message"),
    [
        ({"embedding_words": ["xyzzyq"]}, {}, "method.embedding_words[0]: 'xyzzyq' is"),
        ({"embedding_words": ["hexagon"]}, {}, "method.embedding_words[0]: no caption of the dataset has the word 'hexagon'"),
        ({"embedding_words": ["star", "star"]}, {}, "names a word twice"),
        ({"embedding_lr": 0.01}, {}, "method.embedding_lr: set, but method.embedding_words is empty"),
    ],
)
def test_words_that_cannot_train_are_refused_before_training(method, data, message, base, tmp_path):
    events = []
    train({**RUN, "method": {"name": "lora", **method}, "data": {**RUN["data"], **data}}, tmp_path, EventRecords(events.append), load_model=lambda *_: base)
    assert [e["type"] for e in events] == ["failed"]
    assert message in events[0]["error"], events[0]["error"]
    assert not any(encoder.get_input_embeddings()._forward_hooks for _, encoder in base.text_encoders)


def test_trained_words_encode_every_step_and_a_cache_is_refused_naming_the_field():
    assert text_cache.mode(configs.load({"method": {"embedding_words": ["star"]}})) == "off"
    with pytest.raises(ConfigError, match=r"training.cache_text_encoder_outputs: 'memory' with method.embedding_words"):
        text_cache.mode(configs.load({"method": {"embedding_words": ["star"]}, "training": {"cache_text_encoder_outputs": "memory"}}))


def test_a_word_counts_as_used_wherever_the_tokenizer_finds_it(base):
    embeddings = WordEmbeddings(base, ("star",))
    try:
        embeddings.check_used(["red, star, white background"])  # a tag list: "star," is the word
        with pytest.raises(ConfigError, match=r"no caption of the dataset has the word 'star'"):
            embeddings.check_used(["a red circle", "stars"])
    finally:
        embeddings.remove()


def test_start_from_carries_the_trained_words_on(base, tmp_path):
    words = {"name": "lora", "embedding_words": ["star"]}
    train({**RUN, "method": {**words, "embedding_lr": 0.05}}, tmp_path / "first", EventRecords(lambda e: None), load_model=lambda *_: base)
    events = []
    still = {"method": {**words, "embedding_lr": 1e-9, "start_from": str(tmp_path / "first" / ADAPTER_FILE)}, "optimizer": {"lr": 1e-9}}
    train({**RUN, **still}, tmp_path / "second", EventRecords(events.append), load_model=lambda *_: base)
    started = next(e for e in events if e["type"] == "started")["started_from"]
    assert started["missing"] == started["unused"] == 0, started
    tokenizer, encoder = base.text_encoders[1]
    (token,) = tokenizer("star", add_special_tokens=False).input_ids
    with safe_open(str(tmp_path / "first" / ADAPTER_FILE), "pt") as first, safe_open(str(tmp_path / "second" / ADAPTER_FILE), "pt") as second:
        trained = first.get_tensor("bundle_emb.star.clip_g")
        assert not torch.allclose(trained[0], encoder.get_input_embeddings().weight[token])
        torch.testing.assert_close(second.get_tensor("bundle_emb.star.clip_g"), trained, rtol=0, atol=1e-6)
