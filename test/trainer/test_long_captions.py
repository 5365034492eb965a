"""training.max_token_length: captions longer than one window, cut and joined as sd-scripts does."""

from pathlib import Path

import pytest
import torch
from safetensors import safe_open
from transformers import CLIPTokenizer

from trainer import models
from trainer.events import EventRecords
from trainer.train import ADAPTER_FILE, train

TAGS = ", ".join(["red hair"] * 33)  # 98 CLIP tokens: two windows of 75


@pytest.fixture(scope="module")
def clip():
    """SD1.5's CLIP tokenizer, as shipped for single files: pad is EOS."""
    return CLIPTokenizer.from_pretrained(Path(__file__).resolve().parents[2] / "models" / "configs" / "sd15" / "tokenizer")


def test_one_window_is_the_caption_padded_or_cut_as_before(clip):
    plain = clip([TAGS, "a cat"], padding="max_length", max_length=77, truncation=True, return_tensors="pt").input_ids
    assert torch.equal(models.token_ids(clip, [TAGS, "a cat"])[:, 0], plain)


def test_long_captions_are_cut_into_windows_each_between_bos_and_eos(clip):
    ids = models.token_ids(clip, [TAGS, "a cat"], 225)  # (2, 3, 77)
    assert ids.shape == (2, 3, 77)
    tokens = clip(TAGS).input_ids[1:-1]  # the caption's own tokens
    assert 75 < len(tokens) <= 150
    bos, eos = clip.bos_token_id, clip.eos_token_id
    assert ids[0, 0].tolist() == [bos, *tokens[:75], eos]  # a full window ends with EOS
    assert ids[0, 1].tolist()[: len(tokens) - 75 + 2] == [bos, *tokens[75:], eos]
    assert ids[0, 2].tolist()[:2] == [bos, eos]  # past the caption: an empty caption's window
    assert ids[1, 1].tolist()[:2] == [bos, eos]


def test_sdxl_encodes_each_window_and_joins_them(base):
    caption = ", ".join(["a small red circle at the top left on a white background"] * 3)  # past shapes-xl's 30-token window
    one, pooled_one = models.encode_prompts(base, [caption])
    two, pooled_two = models.encode_prompts(base, [caption], max_token_length=150)  # two windows of 30
    assert one.shape[1] == 32 and two.shape[1] == 2 * 30 + 2
    # the first window's tokens are encoded as the one-window caption's are; the pooled embedding is the first window's
    torch.testing.assert_close(two[:, :31], one[:, :31])
    torch.testing.assert_close(pooled_two, pooled_one)
    assert not torch.allclose(two[:, 31:61], one[:, 1:31].expand(-1, 30, -1))  # the second window holds the caption's later tokens


def test_a_run_with_long_captions_trains_samples_and_caches_its_text(base, tmp_path):
    events = []
    config = {
        "data": {"images": 4},
        "training": {"max_steps": 2, "batch_size": 2, "max_token_length": 225, "cache_text_encoder_outputs": "memory"},
        "sample": {"every": 2, "steps": 2, "prompts": [{"prompt": "a large red star in the center on a white background"}]},
    }
    train(config, tmp_path, EventRecords(events.append), load_model=lambda *_: base)
    assert events[-1]["type"] == "finished", events[-1]
    assert [e["step"] for e in events if e["type"] == "sample"] == [0, 2]
    with safe_open(str(tmp_path / ADAPTER_FILE), "pt") as f:
        assert f.metadata()["ss_max_token_length"] == "225"


def test_sd2_windows_follow_sd_scripts_where_pad_is_not_eos():
    """SD2's and SDXL's second tokenizer pad with "!", not EOS: a window cut mid-caption still ends with EOS,
    and one past the caption starts BOS EOS, as a whole empty caption would."""
    tokenizer = CLIPTokenizer.from_pretrained(Path(__file__).resolve().parents[2] / "models" / "configs" / "sd2" / "tokenizer")
    bos, eos, pad = tokenizer.bos_token_id, tokenizer.eos_token_id, tokenizer.pad_token_id
    assert pad != eos
    ids = models.token_ids(tokenizer, [TAGS], 225)[0]  # (3, 77)
    tokens = tokenizer(TAGS).input_ids[1:-1]
    assert ids[0].tolist() == [bos, *tokens[:75], eos]
    assert ids[1].tolist() == [bos, *tokens[75:], eos] + [pad] * (75 - len(tokens[75:]))
    assert ids[2].tolist() == [bos, eos] + [pad] * 75
