"""trainer.memory counts what a step's tensors hold at their peak, as torch.cuda.max_memory_allocated would,
on real tensors and on fake ones alike; bench_gpu --estimate uses it for full-size models on the CPU."""

import json

import pytest
import torch
import torch.nn.functional as F
from torch._subclasses.fake_tensor import FakeTensorMode

from trainer import bench_gpu
from trainer.memory import PeakBytes


def test_bytes_are_counted_from_creation_to_the_last_reference_and_views_share_them():
    with PeakBytes() as memory:
        a = torch.empty(1000)  # 4000 bytes
        b = torch.empty(2000)  # 8000
        view = b[:10].view(2, 5)  # no new storage
        del a
        c = torch.empty(500, dtype=torch.float16)  # 1000
        assert memory.now == 9000
        del b
        assert memory.now == 9000  # the view still holds b's storage
        del view
    assert (memory.peak, memory.now) == (12000, 1000)
    del c


def test_resident_tensors_count_from_the_start_and_once():
    weight = torch.empty(256, 256)
    with PeakBytes([weight, weight.t()]) as memory:
        assert memory.now == 256 * 256 * 4
        (weight @ torch.ones(256)).sum()
    # at the matmul: the weight, the vector of ones and the product; the ones are gone by the time the sum's 4 bytes come
    assert memory.peak == (256 * 256 + 256 + 256) * 4


def backward_through_an_mlp() -> PeakBytes:
    layers = torch.nn.Sequential(torch.nn.Linear(64, 256), torch.nn.GELU(), torch.nn.Linear(256, 64))
    layers[0].requires_grad_(False)  # frozen, as a base model is: its weight gets no gradient
    with PeakBytes([*layers.parameters()]) as memory:
        x = torch.randn(32, 64)
        layers(x).square().mean().backward()
    return memory


def test_fake_tensors_are_counted_as_the_real_ones_they_stand_for():
    torch.manual_seed(0)
    real = backward_through_an_mlp()
    with FakeTensorMode():
        fake = backward_through_an_mlp()
    assert fake.peak == real.peak
    # Until backward: the weights, x, and what backward needs (the hidden layer before GELU, for GELU's gradient,
    # and after it, for the trainable layer's); the frozen first layer keeps nothing. Backward adds at most the
    # trainable layer's gradients while it frees those.
    weights, x = (64 * 256 + 256 + 256 * 64 + 64) * 4, 32 * 64 * 4
    kept, gradients = 2 * 32 * 256 * 4, (256 * 64 + 64) * 4
    assert weights + x + kept < real.peak < weights + x + kept + gradients


def test_cuda_autocast_norms_run_in_float32_as_cuda_autocast_runs_them():
    x, groups, original = torch.randn(2, 8, 4, 4), torch.nn.GroupNorm(2, 8), F.group_norm
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert groups(x.bfloat16()).dtype == torch.bfloat16  # the CPU's own policy
        with bench_gpu.cuda_autocast_norms():
            assert groups(x.bfloat16()).dtype == torch.float32
            assert F.layer_norm(x.bfloat16(), (4,)).dtype == torch.float32
            assert F.linear(x, torch.ones(3, 4)).dtype == torch.bfloat16  # everything else as before
    assert F.group_norm is original and groups(x.bfloat16()).dtype == torch.bfloat16


def test_a_choice_of_the_norms_dtype_made_first_stands():
    # a trial's bf16 norms, estimated: the estimate's own float32 choice must not undo them
    x, bf16, original = torch.randn(2, 8, 4, 4), torch.bfloat16, F.layer_norm
    with torch.autocast("cpu", dtype=bf16), bench_gpu.autocast_norms(lambda device: bf16), bench_gpu.cuda_autocast_norms():
        assert F.group_norm(x, 2).dtype == bf16 and F.layer_norm(x, (4,)).dtype == bf16
    assert F.layer_norm is original


def test_the_estimate_writes_every_case_and_checkpointing_and_batch_move_it_as_they_must(tmp_path):
    assert bench_gpu.main(["--estimate", "--smoke", "--models", "sd15", "--out", str(tmp_path)]) == 0
    report = json.loads((tmp_path / "gpu-estimate-smoke.json").read_text())
    assert report["card"].startswith("estimated") and "peak_bf16_flops" not in report
    cases = report["models"]["sd15"]["cases"]
    assert [(c["batch"], c["gradient_checkpointing"], c["optimizer"]) for c in cases] == [(1, False, "adamw"), (4, False, "adamw"), (8, False, "adamw"), (1, True, "adamw8bit")]
    one, four, eight, low_memory = (c["estimated_peak_bytes"] for c in cases)
    weights = sum(p.numel() * 2 for p in bench_gpu.build_unet(bench_gpu.unet_config(bench_gpu.MODELS["sd15"], True), torch.device("cpu")).parameters())
    assert weights < low_memory < one < four < eight
    # activations grow with the batch: the step from 4 to 8 images adds about what 1 to 4 added, scaled
    assert (eight - four) == pytest.approx((four - one) * 4 / 3, rel=0.1)
    # and each case's roofline on issue 7's card, from the same step's work (trainer/roofline.py)
    flops = [c["flops_per_step"] for c in cases]
    assert flops[1:3] == [4 * flops[0], 8 * flops[0]] and flops[3] > flops[0]  # checkpointing recomputes forwards
    assert all(c["roofline"]["card"] == "H100" and 0 < c["roofline"]["mfu"] < c["roofline"]["fused_mfu"] < c["roofline"]["flop_op_mfu"] < 1 for c in cases)
