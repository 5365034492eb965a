"""The text-encoder output cache: keyed by caption and encoder weights; cached encoders wait on the CPU until sampling."""

import pytest
import torch

from trainer import config as configs
from trainer import models, text_cache
from trainer.config import ConfigError
from trainer.events import EventRecords
from trainer.offload import Offload, cached_encoders
from trainer.text_cache import TextCache
from trainer.train import train

CAPTIONS = ["a red circle", "a blue star on grey"]


def test_disk_cache_hits_on_a_second_run_and_misses_a_changed_caption(base, tmp_path):
    first = TextCache(base, "disk", root=tmp_path)
    first.fill(CAPTIONS)
    assert first.encoded == 2
    again = TextCache(base, "disk", root=tmp_path)
    again.fill(CAPTIONS)
    assert again.encoded == 0  # both from disk
    with torch.no_grad():
        embeds, pooled = models.encode_prompts(base, CAPTIONS)
    cached_embeds, cached_pooled = again(CAPTIONS)
    assert torch.allclose(cached_embeds, embeds) and (pooled is None or torch.allclose(cached_pooled, pooled))
    edited = TextCache(base, "disk", root=tmp_path)
    edited.fill(["a red circle", "a blue star on white"])
    assert edited.encoded == 1


def test_an_edited_tokenizer_misses_the_disk_cache(base, tmp_path, monkeypatch):
    TextCache(base, "disk", root=tmp_path).fill(CAPTIONS)
    for tokenizer, _ in base.text_encoders:
        monkeypatch.setattr(tokenizer, "model_max_length", tokenizer.model_max_length - 1)  # the same text, other ids
    edited = TextCache(base, "disk", root=tmp_path)
    edited.fill(CAPTIONS)
    assert edited.encoded == 2


def test_a_cache_refuses_shuffled_captions_and_trained_text_encoders_naming_both_fields():
    with pytest.raises(ConfigError, match=r"training.cache_text_encoder_outputs: 'memory' with data.shuffle_caption"):
        text_cache.mode(configs.load({"data": {"shuffle_caption": True}, "training": {"cache_text_encoder_outputs": "memory"}}))
    with pytest.raises(ConfigError, match=r"training.cache_text_encoder_outputs: 'disk' with method.train_text_encoder"):
        text_cache.mode(configs.load({"method": {"train_text_encoder": True}, "training": {"cache_text_encoder_outputs": "disk"}}))
    with pytest.raises(ConfigError, match=r"training.cache_text_encoder_outputs: 'memory' with data.caption_tag_dropout"):
        text_cache.mode(configs.load({"data": {"caption_tag_dropout": 0.1}, "training": {"cache_text_encoder_outputs": "memory"}}))
    text_cache.mode(configs.load({"data": {"caption_dropout": 0.1}, "training": {"cache_text_encoder_outputs": "memory"}}))  # fine


def test_cached_encoders_are_the_ones_parked(base):
    def parked(config):
        cfg = configs.load(config)
        return sorted(cached_encoders(base, cfg.training.cache_latents, text_cache.mode(cfg)))

    assert parked({"training": {"cache_latents": "off", "cache_text_encoder_outputs": "off"}}) == []
    assert parked({"training": {"cache_latents": "memory", "cache_text_encoder_outputs": "off"}}) == ["vae"]
    assert parked({"training": {"cache_latents": "off", "cache_text_encoder_outputs": "disk"}}) == ["text_encoder", "text_encoder_2"]


def test_auto_caches_text_in_memory_unless_the_outputs_change_every_step():
    assert text_cache.mode(configs.load({})) == "memory"
    assert text_cache.mode(configs.load({"data": {"shuffle_caption": True}})) == "off"
    assert text_cache.mode(configs.load({"data": {"caption_tag_dropout": 0.1}})) == "off"
    assert text_cache.mode(configs.load({"method": {"train_text_encoder": True}})) == "off"
    assert text_cache.mode(configs.load({"data": {"caption_dropout": 0.2}})) == "memory"  # the empty caption is one more entry


def test_offload_brings_modules_back_for_a_while_and_parks_them_again():
    module = torch.nn.Linear(2, 2)
    offload = Offload({"m": module}, torch.device("cpu"))
    offload.park()
    assert offload.parked
    with offload.restored():
        assert not offload.parked
    assert offload.parked
    offload.restore()
    with offload.restored():
        pass
    assert not offload.parked  # what was not parked stays where it was


def run(base, tmp_path, name, training, data=None, sample_every=0):
    events, where = [], []

    class Recorder(EventRecords):
        def step(self, **fields):
            where.append(("step", base.vae.device.type, base.text_encoder.device.type))
            super().step(**fields)

        def sample(self, **fields):
            where.append(("sample", base.vae.device.type, base.text_encoder.device.type))
            super().sample(**fields)

    (tmp_path / name).mkdir()
    config = {"data": {"images": 4, **(data or {})}, "training": {"max_steps": 2, "batch_size": 2, "seed": 1, **training}, "sample": {"every": sample_every, "steps": 2, "prompts": [{"prompt": "a red circle"}]}}
    train(config, tmp_path / name, Recorder(events.append), load_model=lambda *_: base)
    assert events[-1]["type"] == "finished", events[-1]
    return [e["loss"] for e in events if e["type"] == "step"], where


def test_cached_and_uncached_text_train_alike_and_encoders_wait_on_the_cpu(base, tmp_path, monkeypatch):
    monkeypatch.setattr("trainer.text_cache.DEFAULT_ROOT", tmp_path / "cache")
    plain, _ = run(base, tmp_path, "off", {"cache_text_encoder_outputs": "off"})
    cached, where = run(base, tmp_path, "disk", {"cache_text_encoder_outputs": "disk"}, sample_every=2)
    assert cached == pytest.approx(plain, rel=1e-5)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    assert [w for w in where if w[0] == "step"] == [("step", "cpu", "cpu")] * 2
    assert [w for w in where if w[0] == "sample"] == [("sample", device, device)] * 2  # steps 0 and 2
    assert base.vae.device.type == base.text_encoder.device.type == device  # given back to the next run where they were


def test_caption_dropout_works_with_a_cache(base, tmp_path):
    losses, _ = run(base, tmp_path, "dropout", {"cache_text_encoder_outputs": "memory"}, data={"caption_dropout": 0.5})
    assert len(losses) == 2
