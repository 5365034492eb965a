"""Full bf16 (sd-scripts' --full_bf16): the adapter's weights and gradients in bf16, the file in float32."""

import pytest
import torch
from safetensors.torch import load_file

from trainer import config as configs
from trainer.events import EventRecords
from trainer.precision import Precision
from trainer.train import train

FULL_BF16 = {"data": {"images": 2}, "training": {"max_steps": 2, "batch_size": 2, "mixed_precision": "bf16", "full_bf16": True}}


def test_full_bf16_keeps_weights_and_gradients_in_bf16():
    precision = Precision("bf16", torch.device("cpu"), full_bf16=True)
    layer = torch.nn.Linear(8, 4)
    params = precision.store(list(layer.parameters()))
    assert params == list(layer.parameters())  # the same Parameters: param groups built before stay valid
    with precision.autocast():
        layer(torch.randn(3, 8)).square().mean().backward()
    assert layer.weight.dtype == layer.weight.grad.dtype == torch.bfloat16
    assert layer.bias.dtype == torch.float32  # 1-D: norms need float32 under autocast, and a bias is as small


def test_without_full_bf16_the_weights_stay_float32():
    params = Precision("bf16", torch.device("cpu")).store(list(torch.nn.Linear(8, 4).parameters()))
    assert {p.dtype for p in params} == {torch.float32}


@pytest.mark.parametrize("mode", ["no", "fp16"])
def test_full_bf16_needs_bf16_mixed_precision(mode):
    with pytest.raises(configs.ConfigError, match=rf"^training\.full_bf16: needs training\.mixed_precision bf16 \(it is '{mode}'\)"):
        Precision(mode, torch.device("cpu"), full_bf16=True)


def test_a_full_bf16_run_saves_float32_weights_that_bf16_holds(base, tmp_path):
    events = []
    train(FULL_BF16, tmp_path, EventRecords(events.append), load_model=lambda *_: base)
    assert events[-1]["type"] == "finished", events[-1]
    weights = load_file(tmp_path / "adapter.safetensors")
    assert {w.dtype for w in weights.values()} == {torch.float32}
    # Trained in bf16: every saved value survives a round trip through bf16 unchanged.
    assert all(torch.equal(w, w.to(torch.bfloat16).float()) for w in weights.values())


def test_full_fine_tuning_runs_in_full_bf16(base, tmp_path):
    """Full trains the UNet's norms too; autocast runs them in float32, so their weights must stay float32."""
    events = []
    config = {**FULL_BF16, "method": {"name": "full"}, "training": {**FULL_BF16["training"], "max_steps": 1}}
    train(config, tmp_path, EventRecords(events.append), load_model=lambda *_: base)
    assert events[-1]["type"] == "finished", events[-1]


def test_a_base_stored_in_bf16_trains_samples_and_scores(base, tmp_path, monkeypatch):
    """On a GPU with mixed precision the frozen base is stored in 16 bits (sd-scripts does the same);
    here the CPU is told to do it too, and the whole run works: training, samples and scores."""
    import copy

    from trainer import models

    monkeypatch.setattr(Precision, "frozen_dtype", property(lambda self: self.dtype or torch.float32))
    asked = []

    def load_in(name, device, dtype):
        asked.append(dtype)
        half = copy.deepcopy(base)
        for module in (half.unet, half.text_encoder, half.text_encoder_2):
            module.to(dtype=dtype)
        return half

    events = []
    config = {**FULL_BF16, "training": {**FULL_BF16["training"], "full_bf16": False}, "sample": {"every": 2, "steps": 2, "prompts": [{"prompt": "a red star"}]}, "eval": {"every": 2, "prompts": 1, "steps": 2}}
    train(config, tmp_path, EventRecords(events.append), load_model=load_in)
    assert asked == [torch.bfloat16]
    assert events[-1]["type"] == "finished", events[-1]
    assert [e["type"] for e in events].count("sample") == 2 and [e["type"] for e in events].count("eval") == 2
    assert {w.dtype for w in load_file(tmp_path / "adapter.safetensors").values()} == {torch.float32}
    assert models.load.__defaults__ == (torch.float32,)  # a CPU run keeps float32 unless told otherwise


def gradients(*values):
    params = [torch.nn.Parameter(torch.zeros(len(v))) for v in values]
    for p, v in zip(params, values):
        p.grad = torch.tensor(v)
    return params


def test_gradients_above_max_grad_norm_are_scaled_down_together():
    params = gradients([3.0, 0.0], [0.0, 4.0])  # norm 5
    norm = Precision("no", torch.device("cpu")).unscale_measure_clip(None, params, max_norm=1.0)
    assert norm == pytest.approx(5.0)  # reported before clipping
    assert torch.cat([p.grad for p in params]).tolist() == pytest.approx([0.6, 0.0, 0.0, 0.8], rel=1e-5)


@pytest.mark.parametrize("max_norm", [None, 5.0, 100.0])
def test_gradients_within_max_grad_norm_are_untouched(max_norm):
    params = gradients([3.0, 0.0], [0.0, 4.0])
    Precision("no", torch.device("cpu")).unscale_measure_clip(None, params, max_norm)
    assert torch.cat([p.grad for p in params]).tolist() == [3.0, 0.0, 0.0, 4.0]


def adapter_after(base, tmp_path, max_grad_norm):
    run = tmp_path / str(max_grad_norm)
    run.mkdir()
    events = []
    train({"data": {"images": 4}, "training": {"max_steps": 3, "batch_size": 2, "max_grad_norm": max_grad_norm}}, run, EventRecords(events.append), load_model=lambda *_: base)
    assert events[-1]["type"] == "finished", events[-1]
    return load_file(run / "adapter.safetensors"), [e["grad_norm"] for e in events if e["type"] == "step"]


def test_a_run_clips_at_training_max_grad_norm(base, tmp_path):
    unclipped, norms = adapter_after(base, tmp_path, None)
    loose, loose_norms = adapter_after(base, tmp_path, max(norms) * 2)
    tight, tight_norms = adapter_after(base, tmp_path, min(norms) / 10)
    assert all(torch.equal(unclipped[k], loose[k]) for k in unclipped) and loose_norms == norms
    assert tight_norms[0] == norms[0]  # the first step's gradients are the same; only what it does with them differs
    assert not all(torch.equal(unclipped[k], tight[k]) for k in unclipped)
