"""The GPU benchmark (npm run bench:gpu) runs its own code on the CPU with --smoke, and counts FLOPs right."""

import json
from types import SimpleNamespace

import pytest
import torch
from diffusers.models.attention_processor import AttnProcessor2_0

from trainer import bench_gpu
from trainer.events import EventRecords
from trainer.train import train


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench")
    assert bench_gpu.main(["--smoke", "--compile", "--out", str(out), "--peak-flops", "1e12", "--bandwidth", "1e11"]) == 0
    (file,) = out.iterdir()
    assert file.name.startswith("gpu-") and file.name.endswith("-smoke.json")
    return json.loads(file.read_text())


def test_the_report_names_the_card_and_versions(report):
    assert report["card"] and report["torch"] == torch.__version__ and "cuda" in report
    assert report["method"] == {"name": "lora", "rank": 16, "targets": "attention and feed-forward"}
    assert set(report["models"]) == {"sdxl", "sd15"}


@pytest.mark.parametrize("model", ["sdxl", "sd15"])
def test_every_case_is_measured(report, model):
    bench = report["models"][model]
    assert bench["attention"] == "sdpa" and bench["latent_size"] == bench["resolution"] // 8
    cases = bench["cases"]
    compiled = [(8, False, "adamw", True, "inductor", "reduce-overhead"), (8, False, "adamw", True, "cudagraphs", "default")] if model == "sdxl" else []
    assert [(c["batch"], c["gradient_checkpointing"], c["optimizer"], c["torch_compile"], c["dynamo_backend"], c["dynamo_mode"]) for c in cases] == [
        (1, False, "adamw", False, "inductor", "default"),
        (4, False, "adamw", False, "inductor", "default"),
        (8, False, "adamw", False, "inductor", "default"),
        (1, True, "adamw8bit", False, "inductor", "default"),
        *compiled,
    ]
    for c in cases:
        assert c["images_per_second"] == pytest.approx(c["batch"] / c["step_seconds"])
        assert c["mfu"] == pytest.approx(c["flops_per_step"] / c["step_seconds"] / 1e12)
        assert c["trainable_params"] > 0 and "peak_vram_bytes" in c
        assert c["device_busy"] is None and c["top_kernels"] is None  # a CPU has no device time to compare with
        roofline = c["roofline"]  # on the card the options describe: 1 TFLOP/s, 100 GB/s
        assert roofline["card"] == report["card"] and roofline["of_device_time"] is None
        assert c["bytes_per_step"] / 1e11 <= roofline["seconds"] <= c["bytes_per_step"] / 1e11 + c["flops_per_step"] / 1e12
        assert roofline["flop_op_seconds"] < roofline["fused_seconds"] < roofline["seconds"]
        assert roofline["mfu"] == pytest.approx(c["flops_per_step"] / roofline["seconds"] / 1e12)
    one, four, eight, checkpointed = (c["flops_per_step"] for c in cases[:4])
    # Every op works per image, so the work grows exactly with the batch; checkpointing recomputes forwards.
    assert (four, eight) == (4 * one, 8 * one)
    assert checkpointed > one
    for c in cases[4:]:
        assert c["flops_per_step"] == eight  # the same work, compiled


def test_kernel_seconds_are_device_time_which_a_cpu_has_none_of():
    x = torch.randn(64, 64)
    assert bench_gpu.kernel_seconds(lambda: x @ x, torch.device("cpu")) == {}


def test_a_kernel_counts_once_though_its_launching_op_carries_its_time_too():
    # As torch.profiler's key_averages() reports one GEMM (200 us over two steps): the kernel's own event, and the
    # CPU op that launched it with the same time as its self device time; and a user annotation spanning both.
    def event(key, device, micros, annotation=False):
        return SimpleNamespace(key=key, device_type=device, self_device_time_total=micros, is_user_annotation=annotation)

    cpu, cuda = torch.autograd.DeviceType.CPU, torch.autograd.DeviceType.CUDA
    events = [event("aten::mm", cpu, 200.0), event("sm90_gemm", cuda, 200.0), event("cudaLaunchKernel", cpu, 0.0), event("step", cuda, 300.0, annotation=True)]
    assert bench_gpu.device_seconds(events, steps=2) == {"sm90_gemm": pytest.approx(100e-6)}


def test_a_run_cut_short_keeps_the_cases_it_measured(tmp_path, monkeypatch):
    measured = iter([{"batch": 1}])

    def run_case(*args):
        return next(measured)  # the second case never ends: StopIteration stands in for a timeout

    monkeypatch.setattr(bench_gpu, "run_case", run_case)
    with pytest.raises(StopIteration):
        bench_gpu.main(["--smoke", "--out", str(tmp_path), "--models", "sd15"])
    (file,) = tmp_path.iterdir()
    assert json.loads(file.read_text())["models"]["sd15"]["cases"] == [{"batch": 1}]


def test_the_trainer_runs_lycoris_eager_kernels_and_the_bench_leaves_that_pinned(report):
    from lycoris.kernels.dispatch import resolve_backend

    assert resolve_backend() == "torch"


@pytest.mark.parametrize(
    "name, kind",
    [  # kernels an H100 ran (bench/results/h100-2026-11-27), names cut short
        ("nvjet_sm90_tst_320x128_64x3_1x2_h_bz_coopB_NNT", "matmul"),
        ("cudnn_generated_fort_native_sdpa_sm90_flash_bprop_wgmma_f16_knob_26_64x64x64_1x4x1_cga1x1x1_kernel0_0", "attention"),
        ("cudnn_generated_fort_native_sdpa_sm90_flash_fprop_wgmma_f16_knob_7_64x128x64_4x1x1_cga1x1x1_kernel0_0", "attention"),
        ("sm90_xmma_dgrad_implicit_gemm_bf16bf16_bf16f32_f32_nhwckrsc_nhwc_tilesize64x64x64", "convolution"),
        ("sm90_xmma_fprop_implicit_gemm_bf16bf16_bf16f32_f32_nhwckrsc_nhwc_tilesize128x64x64", "convolution"),
        ("void cudnn::engines_precompiled::nchwToNhwcKernel<__nv_bfloat16, __nv_bfloat16, float, false, true>", "layout change"),
        ("void at::native::(anonymous namespace)::RowwiseMomentsCUDAKernel<float>(long, float, float const*)", "normalization"),
        ("void at::native::(anonymous namespace)::layer_norm_grad_input_kernel_vectorized<float, float, false>", "normalization"),
        ("triton_red_fused__to_copy_add_div_mul_native_layer_norm_native_layer_norm_backward_view_59", "normalization"),
        ("triton_poi_fused__to_copy_add_cat_gelu_gelu_backward_mul_view_57", "fused by inductor"),
        ("void at::native::unrolled_elementwise_kernel<at::native::direct_copy_kernel_cuda(at::TensorIteratorBase&)", "copy and cast"),
        ("void at::native::vectorized_elementwise_kernel<8, at::native::bfloat16_copy_kernel_cuda(at::TensorIteratorBase&)", "copy and cast"),
        ("void at::native::vectorized_elementwise_kernel<8, at::native::CUDAFunctor_add<c10::BFloat16>, std::array<char*, 3ul> >", "elementwise"),
        ("void at::native::elementwise_kernel<128, 4, at::native::gpu_kernel_impl_nocast<at::native::GeluBackwardCUDAKernelImpl", "elementwise"),
        ("void kOptimizerStatic8bit2StateBlockwise<float, 0, 256, 1>(float*, float*, unsigned char*)", "optimizer"),
        ("Memcpy HtoD (Pageable -> Device)", "copy and cast"),
        ("some_new_kernel", "other"),
    ],
)
def test_each_kernel_is_classed_by_the_work_it_does(name, kind):
    assert bench_gpu.kernel_class(name) == kind


@pytest.mark.parametrize(
    "name, kind",
    [  # aten ops of an SDXL LoRA step (the roofline's)
        ("mm", "matmul"),
        ("addmm_", "matmul"),
        ("bmm", "matmul"),
        ("convolution_backward", "convolution"),
        ("_scaled_dot_product_flash_attention_for_cpu_backward", "attention"),
        ("native_layer_norm_backward", "normalization"),
        ("native_group_norm", "normalization"),
        ("_to_copy", "copy and cast"),
        ("_foreach_lerp_", "optimizer"),
        ("add", "elementwise"),
        ("addcmul_", "elementwise"),
        ("gelu_backward", "elementwise"),
    ],
)
def test_each_aten_op_is_classed_by_the_same_table(name, kind):
    assert bench_gpu.op_class(name) == kind


def test_class_shares_divide_all_the_device_time():
    shares = bench_gpu.class_shares({"nvjet_a": 3.0, "nvjet_b": 1.0, "triton_poi_fused_add_0": 2.0, "flash_fprop": 2.0})
    assert shares == {"matmul": 0.5, "fused by inductor": 0.25, "attention": 0.25}
    assert list(shares) == ["matmul", "fused by inductor", "attention"]  # largest first


def test_flops_of_a_linear_and_a_conv_match_a_hand_count():
    linear, conv = torch.nn.Linear(8, 16), torch.nn.Conv2d(3, 4, kernel_size=3, padding=1)
    x, image = torch.randn(4, 8), torch.randn(2, 3, 5, 5)  # inputs need no gradient: backward computes weight gradients only
    flops = bench_gpu.count_work(lambda: (linear(x).sum() + conv(image).sum()).backward()).flops
    linear_flops = 2 * 4 * 8 * 16  # (4, 8) @ (8, 16): a multiply and an add per term
    conv_flops = 2 * (2 * 4 * 5 * 5) * (3 * 3 * 3)  # every output value: 3 channels × 3 × 3 taps
    assert flops == 2 * linear_flops + 2 * conv_flops  # forward, and the weight gradient's equal work


def test_a_lora_layer_counts_its_hand_count_though_its_update_joins_in_place():
    from trainer.methods import LeanLoCon

    layer = torch.nn.Linear(8, 16).requires_grad_(False)
    module = LeanLoCon("lora_x", layer, 1.0, 2, 2, bypass_mode=True)
    module.apply_to()
    assert module.joins_in_matmul(layer)  # the update is added by addmm_, which torch's counter has no formula for
    x = torch.randn(4, 8, requires_grad=True)
    flops = bench_gpu.count_work(lambda: layer(x).sum().backward()).flops
    base, down, up = 2 * 4 * 8 * 16, 2 * 4 * 8 * 2, 2 * 4 * 2 * 16
    assert flops == 2 * base + 3 * down + 3 * up  # forward; backward: the frozen layer's input gradient, the LoRA's input and weight gradients


@pytest.mark.parametrize(
    "name, peak",
    [("NVIDIA H100 80GB HBM3", 989e12), ("NVIDIA H100 PCIe", 756e12), ("NVIDIA H200", 989e12), ("NVIDIA A100-SXM4-80GB", 312e12), ("NVIDIA GeForce RTX 4090", 165e12), ("Tesla T4", None)],
)
def test_peak_flops_by_card_name(name, peak):
    card = bench_gpu.find_card(name)
    assert (card and card.flops) == peak and (card is None or card.bandwidth > 1e12)


def test_training_keeps_sdpa_attention(base, tmp_path):
    """diffusers' default attention is PyTorch's scaled_dot_product_attention; nothing in a run switches it off."""
    events = []
    train({"data": {"images": 2}, "training": {"max_steps": 1, "batch_size": 2}}, tmp_path, EventRecords(events.append), load_model=lambda *_: base)
    assert events[-1]["type"] == "finished", events[-1]
    assert all(isinstance(p, AttnProcessor2_0) for p in base.unet.attn_processors.values())
