"""Caption shuffle, keep_tokens, dropout and tag dropout: sd-scripts' rules, drawn reproducibly from (seed, batch, image)."""

import torch

from trainer import config as configs
from trainer import train as training
from trainer.captions import CaptionOptions, at_step
from trainer.train import prepare_data, prompt_encoder

CAPTION = "sks star, red, large, centred, on grey, striped"


def test_shuffle_keeps_the_first_keep_tokens_tags_in_front():
    options = CaptionOptions(shuffle=True, keep_tokens=2)
    drawn = {at_step(CAPTION, options, seed=0, batch=b, image=0) for b in range(40)}
    assert len(drawn) > 10  # the other tags move
    for caption in drawn:
        tags = caption.split(", ")
        assert tags[:2] == ["sks star", "red"] and sorted(tags) == sorted(CAPTION.split(", "))


def test_the_same_seed_batch_and_image_give_the_same_caption():
    options = CaptionOptions(shuffle=True, keep_tokens=1, dropout=0.3)
    assert [at_step(CAPTION, options, 5, b, 3) for b in range(20)] == [at_step(CAPTION, options, 5, b, 3) for b in range(20)]
    assert [at_step(CAPTION, options, 5, b, 3) for b in range(20)] != [at_step(CAPTION, options, 6, b, 3) for b in range(20)]
    assert at_step(CAPTION, CaptionOptions(), 5, 0, 3) == CAPTION  # off: untouched


def test_dropout_empties_about_the_rate_of_captions():
    options = CaptionOptions(dropout=0.1)
    dropped = sum(at_step(CAPTION, options, 0, b, i) == "" for b in range(200) for i in range(10))
    assert 150 <= dropped <= 250  # 2000 draws at 0.1: mean 200, sd 13


def test_tag_dropout_leaves_out_about_the_rate_of_the_tags_after_keep_tokens():
    options = CaptionOptions(keep_tokens=1, tag_dropout=0.2)
    drawn = [at_step(CAPTION, options, 0, b, i).split(", ") for b in range(100) for i in range(4)]
    assert all(tags[0] == "sks star" for tags in drawn)  # the kept tag is never dropped
    left_out = sum(5 - (len(tags) - 1) for tags in drawn)  # of the other 5 tags, in 400 captions
    assert 320 <= left_out <= 480  # 2000 draws at 0.2: mean 400, sd 18
    assert all(tags[1:] == [t for t in CAPTION.split(", ")[1:] if t in tags[1:]] for tags in drawn)  # unshuffled, the order stays


def test_tag_dropout_comes_after_shuffle_and_leaves_shuffle_alone():
    shuffled = CaptionOptions(shuffle=True, keep_tokens=1)
    thinned = CaptionOptions(shuffle=True, keep_tokens=1, tag_dropout=0.3)
    for b in range(20):
        order, kept = at_step(CAPTION, shuffled, 0, b, 0).split(", "), at_step(CAPTION, thinned, 0, b, 0).split(", ")
        assert kept == [t for t in order if t in kept]  # the same shuffle, some tags gone


def test_a_resumed_encoder_draws_the_captions_the_uninterrupted_one_drew(base, monkeypatch, tmp_path):
    seen = []
    monkeypatch.setattr(training.models, "encode_prompts", lambda base, captions, *options: seen.append(captions) or (torch.zeros(len(captions), 1, 1), None))
    cfg = configs.load({"data": {"images": 6, "shuffle_caption": True, "caption_dropout": 0.2}, "training": {"batch_size": 3}})
    data = prepare_data(cfg.data)
    straight = prompt_encoder(base, data, cfg, first_batch=0)
    for batch in range(4):
        straight(torch.tensor([batch, 5, 0]))
    resumed = prompt_encoder(base, data, cfg, first_batch=2)
    resumed(torch.tensor([2, 5, 0]))
    resumed(torch.tensor([3, 5, 0]))
    assert seen[4:] == seen[2:4]
    assert seen[0][1:] != seen[1][1:] or seen[1][1:] != seen[2][1:]  # the same images get other captions in other batches
