"""The roofline counts what each op must compute and move, and the floors it draws from them follow by hand."""

import pytest
import torch
import torch.nn.functional as F
from torch._subclasses.fake_tensor import FakeTensorMode
from torch.utils.flop_counter import FlopCounterMode

from trainer import bench_gpu
from trainer.roofline import Card, Roofline

CARD = Card("test card", flops=1e12, bandwidth=1e9)
FLOAT = 4  # bytes


def named(work: Roofline) -> list[tuple[str, int, int]]:
    return [(op.name, op.flops, op.bytes) for op in work.ops]


def test_a_linear_reads_its_input_weight_and_bias_and_writes_its_output():
    x, w, b = torch.randn(4, 8), torch.randn(16, 8), torch.randn(16)
    with Roofline() as work:
        F.linear(x, w, b)
    # the transpose of w is a view: no op of its own, no bytes
    assert named(work) == [("addmm", 2 * 4 * 8 * 16, (16 + 4 * 8 + 8 * 16 + 4 * 16) * FLOAT)]
    op = work.ops[0]
    assert op.seconds(CARD) == max(op.flops / 1e12, op.bytes / 1e9) == op.bytes / 1e9  # this small, any card waits on memory


def test_a_broadcast_argument_is_read_once_and_a_copy_does_not_read_what_it_overwrites():
    x, row, out = torch.randn(64, 32), torch.randn(32), torch.empty(64, 32)
    with Roofline() as work:
        total = x + row.expand(64, 32)  # the expanded row: 32 numbers, not 64 x 32
        out.copy_(total)
    assert named(work) == [("add", 0, (64 * 32 + 32 + 64 * 32) * FLOAT), ("copy_", 0, 2 * 64 * 32 * FLOAT)]


def test_attention_on_a_cpu_counts_the_flops_a_gpu_kernel_would():
    q = torch.randn(2, 3, 16, 8, requires_grad=True)  # batch, heads, tokens, head width
    with Roofline() as work:
        F.scaled_dot_product_attention(q, q, q).sum().backward()
    b, h, s, d = q.shape
    forward = 2 * (2 * b * h * s * s * d)  # Q K^T, then P V
    backward = 5 * (2 * b * h * s * s * d)  # Q K^T again, then dV, dP, dQ and dK
    assert work.flops == forward + backward
    assert {op.name for op in work.ops if op.flops} == {"_scaled_dot_product_flash_attention_for_cpu", "_scaled_dot_product_flash_attention_for_cpu_backward"}


def test_the_fused_floor_reads_a_stretch_s_input_once_and_writes_only_what_is_used_after_it():
    x, w = torch.randn(256, 256), torch.randn(256, 256)
    nbytes = 256 * 256 * FLOAT
    with Roofline() as work:
        a = (x * 2 + 1).relu()  # a stretch of three elementwise ops: reads x, keeps a for later
        b = a @ w  # a FLOP op between stretches
        c = (a + b).neg()  # reads a and b; c outlives the work
    assert [op.name for op in work.ops] == ["mul", "add", "relu", "mm", "add", "neg"]
    mm = work.ops[3]
    assert work.flop_op_seconds(CARD) == mm.seconds(CARD) == 3 * nbytes / 1e9  # 2 * 256^3 FLOPs take this card 34 us, the bytes 786
    eager_bytes = 2 * nbytes * 3 + 3 * nbytes + 2 * nbytes  # each elementwise op reads and writes; the add reads two
    assert work.bytes == eager_bytes + 3 * nbytes
    assert work.seconds(CARD) == pytest.approx(sum(op.seconds(CARD) for op in work.ops))
    fused_bytes = (nbytes + nbytes) + (2 * nbytes + nbytes)  # x in, a out; a and b in, c out (x*2 and x*2+1 stay on chip)
    assert work.fused_seconds(CARD) == pytest.approx(mm.seconds(CARD) + fused_bytes / 1e9)
    assert c.shape == (256, 256)


def test_a_stretch_writes_what_it_changes_in_place_though_nothing_reads_it_after():
    weight, grad = torch.randn(128), torch.randn(128)
    with Roofline() as work:
        weight.add_(grad, alpha=-0.1)  # an optimizer's update: the weight existed before and lives on
    assert work.fused_seconds(CARD) == pytest.approx(3 * 128 * FLOAT / 1e9)


def test_the_flops_of_a_training_step_are_torch_s_count_with_the_cpu_s_attention_and_the_in_place_addmm():
    """Every op the roofline sees is an op torch's FLOP counter counts the same, on a small SDXL UNet's LoRA step."""
    aten = torch.ops.aten
    model = bench_gpu.MODELS["sdxl"]
    with FakeTensorMode(allow_non_fake_inputs=True):
        unet = bench_gpu.build_unet(bench_gpu.unet_config(model, smoke=True), torch.device("cpu"))
        base = bench_gpu.UNetOnly(unet, bench_gpu.FAMILIES["sdxl"])
        scheduler = bench_gpu.DDPMScheduler.from_pretrained(bench_gpu.CONFIGS / "sdxl" / "scheduler")
        with bench_gpu.training_step(base, scheduler, bench_gpu.SMOKE_RESOLUTION, bench_gpu.Case(2), torch.device("cpu"), smoke=True) as (step_with, _):
            step = step_with(unet)
            roofline = bench_gpu.count_work(step)
            mapping = {aten.addmm_: lambda self_shape, a_shape, b_shape, **_: 2 * a_shape[0] * a_shape[1] * b_shape[1]}
            with FlopCounterMode(display=False, custom_mapping=mapping) as counter:
                step()
    attention = sum(op.flops for op in roofline.ops if "attention" in op.name)
    assert attention > 0 and roofline.flops == counter.get_total_flops() + attention
    assert {op.name for op in roofline.ops if op.flops} >= {"mm", "addmm", "addmm_", "convolution", "convolution_backward"}
