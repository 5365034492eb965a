"""`python -m trainer.bench_gpu` (npm run bench:gpu): LoRA training speed, MFU and memory of full-size SDXL and SD1.5 on this GPU.

Needs no download: each UNet is built from its shipped config (models/configs)
with random weights, and random latents and text embeddings of the right
shapes stand in for cached latents and text-encoder outputs, which is all a
run with both caches feeds the UNet. The adapter, optimizer and mixed precision
come from the trainer's own registries (LoRA rank 16 on attention and
feed-forward, as a run makes it). The frozen UNet is stored in bf16, as
sd-scripts stores frozen weights under mixed precision. Attention runs through
PyTorch's scaled_dot_product_attention (diffusers' default processor, which
nothing in the trainer replaces; the report checks it).

For each model: batch 1, 4 and 8 with AdamW, then batch 1 with gradient
checkpointing and AdamW8bit (the low-memory setting), all uncompiled, with the
trainer's own LoRA forward (trainer/methods/lean_lora.py). With --compile, SDXL's
batch 8 once more compiled (training.torch_compile) by inductor in
reduce-overhead mode and by cudagraphs (their warmup_seconds include the
compile). The report is written after every case, so a run cut short keeps
what it measured. Each case
reports images/s, the FLOPs of one step (forward + backward, counted by
torch.utils.flop_counter from the ops that ran), MFU (those FLOPs per second
over the card's dense bf16 peak), peak VRAM (torch.cuda.max_memory_allocated),
device_busy: the share of the step the GPU spent in kernels, from
torch.profiler over two more steps, and top_kernels: the kernels that took
most of that time. A low share means the GPU waits for the CPU to launch work,
and no kernel tuning will raise the MFU; fewer launches will (a compiled step,
larger batches). A high share with a low MFU means slow kernels: top_kernels
says which, and kernel_classes how all of the time divides between kinds of
work (matmul, attention, convolution, normalization, copies, elementwise...).
The FLOP count also counts the bytes each op moves (trainer/roofline.py), and
roofline gives the floors they set on this card: the least time the step's
ops could take eager, fused as a compiler fuses them, and the FLOP ops alone;
of_device_time says how near the kernels came to the eager floor. Peak VRAM is that of the warm-up and timed steps: the FLOP count's
step runs under a dispatch mode that keeps a checkpointed step's activations.
With gradient checkpointing the count includes the recomputed forward, so its
"MFU" is really hardware utilisation.

Writes bench/results/gpu-<card>.json. `--smoke` runs the same code on a
shrunken UNet for 2 steps, on any device (the CPU test keeps it working).
`--estimate` needs no GPU: it runs each case's step twice on fake tensors on
the CPU and counts the peak memory its tensors hold (trainer/memory.py), with
CUDA autocast's float32 norms, and the second step's roofline on an H100 SXM,
issue 7's card; it writes bench/results/gpu-estimate.json.
"""

from __future__ import annotations

import argparse
import json
import platform
import re
import sys
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterable, Iterator

import diffusers
import torch
import torch.nn.functional as F
from diffusers import DDPMScheduler, UNet2DConditionModel
from diffusers.models.attention_processor import AttnProcessor2_0
from torch._subclasses.fake_tensor import FakeTensorMode, unset_fake_temporarily

from trainer import config as configs
from trainer.compiling import release, training_unet
from trainer.families import FAMILIES, Family
from trainer.memory import PeakBytes
from trainer.methods import METHODS
from trainer.optimizers import OPTIMIZERS
from trainer.precision import Precision
from trainer.roofline import Card, Roofline, find_card

REPO = Path(__file__).resolve().parents[1]
CONFIGS = REPO / "models" / "configs"
TEXT_TOKENS = 77  # CLIP's context: the length of every cached prompt embedding
TOP_KERNELS = 12

GOAL_CARD = find_card("NVIDIA H100 80GB HBM3")  # issue 7's MFU goal is an H100 SXM's: the card --estimate's roofline is drawn for

# What each kernel does, by its name; the first pattern that matches wins. cuDNN names its attention kernels fprop and
# bprop as it names convolutions, and its convolutions are implicit GEMMs, hence this order. The same table classes
# aten ops (the roofline's), whose names end each pattern.
KERNEL_CLASSES = [
    ("attention", r"sdpa|flash|fmha|attention"),
    ("convolution", r"implicit_gemm|conv|dgrad|wgrad"),
    ("layout change", r"nchwToNhwc|nhwcToNchw"),
    ("matmul", r"nvjet|gemm|cutlass|cublas|xmma|^(add|b|badd)mm_?$|^mm$"),
    ("normalization", r"layer_norm|group_norm|GroupNorm|LayerNorm|RowwiseMoments|ComputeFusedParams|ComputeInternalGradients|BackwardFusedParams"),
    ("fused by inductor", r"^triton_"),
    ("copy and cast", r"copy|Memcpy|Memset"),
    ("optimizer", r"Optimizer|adam|Adam|multi_tensor|^_foreach_"),
    ("elementwise", r"elementwise|Functor|reduce_kernel"),
]


@dataclass(frozen=True)
class Model:
    folder: str  # under models/configs: the UNet config and the noise schedule
    resolution: int  # pixels; latents are 1/8 of it
    compare: bool = False  # also run COMPILED with --compile (issue 7's goals are SDXL's; each takes minutes of compiling)


@dataclass(frozen=True)
class Case:
    batch: int
    gradient_checkpointing: bool = False
    optimizer: str = "adamw"
    torch_compile: bool = False  # training.torch_compile
    dynamo_backend: str = "inductor"  # training.dynamo_backend, when compiled (a smoke run uses aot_eager)
    dynamo_mode: str = "default"  # training.dynamo_mode, when compiled by inductor (a smoke run uses default)

    def config(self, smoke: bool = False) -> configs.Frozen:
        """The tunebook config a run of this case would have (validated by the same schema)."""
        return configs.load(
            {
                "method": {"name": "lora", "rank": 16, "alpha": 16},
                "optimizer": {"name": self.optimizer, "lr": 1e-4},
                "training": {"batch_size": self.batch, "mixed_precision": "bf16", "gradient_checkpointing": self.gradient_checkpointing, "torch_compile": self.torch_compile, **self.compiler(smoke)},
            }
        )

    def compiler(self, smoke: bool) -> dict:
        """training.dynamo_backend and dynamo_mode: a smoke run traces on any device, with aot_eager in its own mode."""
        return {"dynamo_backend": "aot_eager", "dynamo_mode": "default"} if smoke else {"dynamo_backend": self.dynamo_backend, "dynamo_mode": self.dynamo_mode}


MODELS = {"sdxl": Model("sdxl", 1024, compare=True), "sd15": Model("sd15", 512)}
LOW_MEMORY = Case(1, gradient_checkpointing=True, optimizer="adamw8bit")  # issue 7's memory goal: at most 8 GB
CASES = [Case(1), Case(4), Case(8), LOW_MEMORY]
# batch 8 again, compiled, only when asked (--compile), since compiling SDXL's step by inductor took 359 s on an H100's
# host, which would put the whole run past issue 7's 8 minutes: by inductor in reduce-overhead mode (fused kernels,
# replayed as CUDA graphs, without the CPU launching each), and by cudagraphs (the eager kernels, replayed)
COMPILED = [Case(8, torch_compile=True, dynamo_mode="reduce-overhead"), Case(8, torch_compile=True, dynamo_backend="cudagraphs")]


# --smoke: the same architectures shrunk to a few channels, at 128 px (16x16 latents).
SMOKE = {"block_out_channels": 32, "layers_per_block": 1, "transformer_layers_per_block": 1, "attention_head_dim": 2}
SMOKE_RESOLUTION = 128


@dataclass
class UNetOnly:
    """A base model of which only the UNet exists: cached latents and text-encoder outputs stand in for the rest."""

    unet: UNet2DConditionModel
    family: Family
    text_encoder: None = None
    text_encoder_2: None = None


def count_work(step: Callable[[], None]) -> Roofline:
    """What one call of `step` computes and moves, op by op (forward and backward): its FLOPs are those of the matrix
    multiplies, convolutions and attention (trainer/roofline.py)."""
    with Roofline() as work:
        step()
    return work


def roofline_report(work: Roofline, card: Card) -> dict:
    """The least time `work` could take on `card` (trainer/roofline.py): eager (one kernel an op), fused (one kernel
    for each stretch between matrix multiplies, convolutions and attention, as a compiler fuses them), and those
    alone; the MFU each would give; where the eager floor's time goes, by kind of op."""
    eager, fused, flop_ops = work.seconds(card), work.fused_seconds(card), work.flop_op_seconds(card)
    mfu = lambda seconds: work.flops / seconds / card.flops  # noqa: E731
    return {
        "card": card.part,
        "bandwidth": card.bandwidth,
        "seconds": eager,
        "mfu": mfu(eager),
        "fused_seconds": fused,
        "fused_mfu": mfu(fused),
        "flop_op_seconds": flop_ops,
        "flop_op_mfu": mfu(flop_ops),
        "seconds_by_class": class_shares(work.seconds_by_op(card), op_class),  # the eager floor's
    }


def unet_config(model: Model, smoke: bool) -> dict:
    config = json.loads((CONFIGS / model.folder / "unet" / "config.json").read_text())
    if smoke:
        blocks = len(config["block_out_channels"])
        config = {**config, **SMOKE, "block_out_channels": [SMOKE["block_out_channels"]] * blocks}
    return config


@contextmanager
def default_dtype(dtype: torch.dtype) -> Iterator[None]:
    previous = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        yield
    finally:
        torch.set_default_dtype(previous)


def build_unet(config: dict, device: torch.device) -> UNet2DConditionModel:
    """Random weights, made on the device in bf16 (fast even at SDXL's 2.6 B parameters, with no float32 copy
    on the way, which fake tensors could not swap for bf16 ones), frozen."""
    with torch.device(device), default_dtype(torch.bfloat16):
        unet = UNet2DConditionModel.from_config(config)
    return unet.requires_grad_(False).train()


def inputs(unet: UNet2DConditionModel, batch: int, resolution: int, device: torch.device) -> tuple[torch.Tensor, dict]:
    """Random latents (B, 4, H/8, W/8) and the UNet's conditioning, shaped as the caches hand them over."""
    c = unet.config
    g = torch.Generator(device).manual_seed(0)
    latents = torch.randn((batch, c.in_channels, resolution // 8, resolution // 8), generator=g, device=device)
    conditioning = {"encoder_hidden_states": torch.randn((batch, TEXT_TOKENS, c.cross_attention_dim), generator=g, device=device)}  # (B, 77, D)
    if c.addition_embed_type == "text_time":  # SDXL: pooled text (B, 1280) and size/crop ids (B, 6)
        pooled = c.projection_class_embeddings_input_dim - 6 * c.addition_time_embed_dim
        size = [resolution, resolution, 0, 0, resolution, resolution]
        conditioning["added_cond_kwargs"] = {
            "text_embeds": torch.randn((batch, pooled), generator=g, device=device),
            "time_ids": torch.tensor([size] * batch, dtype=torch.float32, device=device),
        }
    return latents, conditioning


def uses_sdpa(unet: UNet2DConditionModel) -> bool:
    return all(isinstance(p, AttnProcessor2_0) for p in unet.attn_processors.values())


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def timed(step: Callable[[], None], count: int, device: torch.device) -> float:
    """Seconds that `count` steps take, until the device has done their work too."""
    start = time.perf_counter()
    for _ in range(count):
        step()
    synchronize(device)
    return time.perf_counter() - start


def kernel_seconds(step: Callable[[], None], device: torch.device) -> dict[str, float]:
    """Each kernel's (and copy's) own device time in one step, by name, from torch.profiler over two steps. Their sum
    below the step's wall time means the device waited for the CPU to hand it work (a CPU has no device time: {})."""
    activity = torch.profiler.ProfilerActivity.CUDA if device.type == "cuda" else torch.profiler.ProfilerActivity.CPU
    with torch.profiler.profile(activities=[activity]) as profiler:
        timed(step, 2, device)
    return device_seconds(profiler.key_averages(), steps=2)


def kernel_class(name: str) -> str:
    return next((kind for kind, pattern in KERNEL_CLASSES if re.search(pattern, name)), "other")


def op_class(name: str) -> str:
    """An aten op's class, by the kernels' table: one of none of its kinds is elementwise math or a reduction."""
    kind = kernel_class(name)
    return "elementwise" if kind == "other" else kind


def class_shares(kernels: dict[str, float], classify: Callable[[str], str] = kernel_class) -> dict[str, float]:
    """The share of the device time each class of kernel (or op) took (matmul, attention, elementwise...), largest first."""
    seconds: dict[str, float] = {}
    for name, t in kernels.items():
        kind = classify(name)
        seconds[kind] = seconds.get(kind, 0.0) + t
    total = sum(seconds.values())
    return {kind: t / total for kind, t in sorted(seconds.items(), key=lambda kv: -kv[1])}


def device_seconds(events: Iterable, steps: int) -> dict[str, float]:
    """Seconds per step of each event the device ran itself. kernel_seconds profiles the device alone; were the CPU
    profiled too, each op would carry its kernels' time again, and counting it would count them twice."""
    on_device = [e for e in events if e.device_type != torch.autograd.DeviceType.CPU and not e.is_user_annotation]
    return {event.key: event.self_device_time_total / steps / 1e6 for event in on_device if event.self_device_time_total > 0}


@contextmanager
def training_step(base: UNetOnly, noise_scheduler: DDPMScheduler, resolution: int, case: Case, device: torch.device, smoke: bool) -> Iterator[tuple[Callable[[Callable], Callable[[], None]], list]]:
    """One training setting, set up as a run sets it up: yields step_with(predict), the loop's step
    (noise -> timesteps -> add_noise -> predict -> loss -> backward -> optimizer step) around a UNet call,
    and the trainable parameters. The adapter is removed afterwards."""
    cfg = case.config(smoke)
    unet = base.unet
    if case.gradient_checkpointing:
        unet.enable_gradient_checkpointing()
    else:
        unet.disable_gradient_checkpointing()
    adapter = optimizer = None
    try:
        adapter = METHODS[cfg.method.name].create(base, cfg.method)
        precision = Precision(cfg.training.mixed_precision, device)
        params = precision.store(adapter.parameters())
        # bitsandbytes computes its quantisation maps at construction: real tensors, even when the step is estimated on fake ones
        with unset_fake_temporarily():
            optimizer = OPTIMIZERS[cfg.optimizer.name].create(adapter.param_groups(cfg.optimizer.lr), cfg.optimizer)
        latents, conditioning = inputs(unet, case.batch, resolution, device)

        def step_with(predict: Callable) -> Callable[[], None]:
            def step() -> None:
                noise = torch.randn_like(latents)
                timesteps = torch.randint(0, noise_scheduler.config.num_train_timesteps, (case.batch,), device=device)
                noisy = noise_scheduler.add_noise(latents, noise, timesteps)
                with precision.autocast():
                    pred = predict(noisy, timesteps, **conditioning).sample
                precision.backward(F.mse_loss(pred.float(), noise))
                precision.step(optimizer)
                optimizer.zero_grad(set_to_none=True)

            return step

        yield step_with, params
    finally:
        release(cfg.training)
        del optimizer
        if adapter is not None:
            adapter.remove()


def run_case(base: UNetOnly, noise_scheduler: DDPMScheduler, resolution: int, case: Case, device: torch.device, steps: int, warmup: int, card: Card | None, smoke: bool) -> dict:
    """One training setting's step, timed, its FLOPs counted and its memory measured."""
    if device.type == "cuda":
        torch.cuda.empty_cache()
    try:
        with training_step(base, noise_scheduler, resolution, case, device, smoke) as (step_with, params):
            work = count_work(step_with(base.unet))  # also the first warm-up step; compiled, the same work runs
            flops = work.flops
            if device.type == "cuda":
                # Under the FLOP counter a checkpointed step keeps every activation (measured): the peak is the training steps'.
                torch.cuda.reset_peak_memory_stats()
            step = step_with(training_unet(base.unet, case.config(smoke).training, device))
            warmup_seconds = timed(step, warmup, device)  # a compiled step compiles in the first of them
            seconds = timed(step, steps, device) / steps
            kernels = kernel_seconds(step, device) if device.type == "cuda" else None  # a CPU profile costs more than the steps
            busy = sum(kernels.values()) if kernels is not None else None
            # the least time the step's ops could take on this card, against which the kernels' own time compares
            roofline = roofline_report(work, card) if card and card.bandwidth else None
            if roofline:
                roofline["of_device_time"] = roofline["seconds"] / busy if busy else None
            return {
                **asdict(case),
                "warmup_seconds": warmup_seconds,
                "trainable_params": sum(p.numel() for p in params),
                "step_seconds": seconds,
                "images_per_second": case.batch / seconds,
                "flops_per_step": flops,
                "tflops_per_second": flops / seconds / 1e12,
                "mfu": flops / seconds / card.flops if card else None,
                "device_busy": busy / seconds if busy is not None else None,  # the share of the step the GPU computed
                # where the device time goes: the kernels that took most of it, each with its share
                "top_kernels": [[name, t / busy] for name, t in sorted(kernels.items(), key=lambda kv: -kv[1])[:TOP_KERNELS]] if busy else None,
                "kernel_classes": class_shares(kernels) if busy else None,  # all of the time, by kind of work
                "peak_vram_bytes": torch.cuda.max_memory_allocated() if device.type == "cuda" else None,
                "bytes_per_step": work.bytes,
                "roofline": roofline,
            }
    except torch.cuda.OutOfMemoryError as error:
        return {**asdict(case), "error": f"out of memory: {error}".splitlines()[0]}


def bench_model(name: str, report: dict, save: Callable[[], None], device: torch.device, smoke: bool, steps: int, warmup: int, card: Card | None, compiled: bool) -> None:
    """Fills `report` with the model's cases, saving it after each: a run cut short keeps what it measured."""
    model = MODELS[name]
    resolution = SMOKE_RESOLUTION if smoke else model.resolution
    unet = build_unet(unet_config(model, smoke), device)
    noise_scheduler = DDPMScheduler.from_pretrained(CONFIGS / model.folder / "scheduler")
    report |= {
        "resolution": resolution,
        "latent_size": resolution // 8,
        "unet_params": sum(p.numel() for p in unet.parameters()),
        "attention": "sdpa" if uses_sdpa(unet) else "other",
        "cases": [],
    }
    for case in CASES + COMPILED * (compiled and model.compare):
        print(f"bench_gpu: {name} {case}", file=sys.stderr, flush=True)
        report["cases"].append(run_case(UNetOnly(unet, FAMILIES[model.folder]), noise_scheduler, resolution, case, device, steps, warmup, card, smoke))
        print(f"  {report['cases'][-1]}", file=sys.stderr, flush=True)
        save()
    del unet


@contextmanager
def autocast_norms(dtype: Callable[[str], torch.dtype]) -> Iterator[None]:
    """Meanwhile, under autocast, group_norm and layer_norm run in dtype(device type) instead of autocast's choice;
    within another autocast_norms, that one's choice stands (a trial's bf16 norms, estimated as CUDA's float32 ones)."""
    originals = {name: getattr(F, name) for name in ("group_norm", "layer_norm")}
    if any(hasattr(norm, "autocast_dtype") for norm in originals.values()):
        yield
        return

    def in_dtype(norm: Callable) -> Callable:
        def run(input, *args, **kwargs):
            device = input.device.type
            if not torch.is_autocast_enabled(device):
                return norm(input, *args, **kwargs)
            cast = lambda x: x.to(dtype(device)) if isinstance(x, torch.Tensor) and x.is_floating_point() else x  # noqa: E731
            with torch.autocast(device, enabled=False):
                return norm(cast(input), *map(cast, args), **{k: cast(v) for k, v in kwargs.items()})

        run.autocast_dtype = dtype
        return run

    for name, norm in originals.items():
        setattr(F, name, in_dtype(norm))
    try:
        yield
    finally:
        for name, norm in originals.items():
            setattr(F, name, norm)


def cuda_autocast_norms():
    """CPU autocast runs group_norm and layer_norm in bf16; CUDA's runs them in float32, so their outputs
    (which the next layer keeps for backward) are twice the size there. Run them as CUDA's autocast does."""
    return autocast_norms(lambda device: torch.float32)


def estimate_model(name: str, cases: list[Case], smoke: bool = False) -> dict:
    """Each case's peak GPU memory, counted on the CPU: the same UNet, adapter, optimizer and step on fake tensors
    (trainer.memory), over two steps (the second runs with the optimizer state the first allocated); and the second
    step's roofline on the goal's card (trainer.roofline): how fast its ops could possibly run there."""
    model = MODELS[name]
    resolution = SMOKE_RESOLUTION if smoke else model.resolution
    device = torch.device("cpu")
    noise_scheduler = DDPMScheduler.from_pretrained(CONFIGS / model.folder / "scheduler")
    report = {"resolution": resolution, "cases": []}
    with FakeTensorMode(allow_non_fake_inputs=True), cuda_autocast_norms():
        unet = build_unet(unet_config(model, smoke), device)
        for case in cases:
            print(f"bench_gpu: estimating {name} {case}", file=sys.stderr, flush=True)
            with PeakBytes([*unet.parameters(), *unet.buffers()]) as memory:
                with training_step(UNetOnly(unet, FAMILIES[model.folder]), noise_scheduler, resolution, case, device, smoke) as (step_with, _):
                    step = step_with(unet)
                    step()
                    work = count_work(step)
            report["cases"].append({**asdict(case), "estimated_peak_bytes": memory.peak, "flops_per_step": work.flops, "bytes_per_step": work.bytes, "roofline": roofline_report(work, GOAL_CARD)})
    return report


def slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m trainer.bench_gpu", description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="a shrunken UNet, 2 steps: checks the bench runs, measures nothing")
    parser.add_argument("--estimate", action="store_true", help="no GPU needed: count each case's peak memory and its roofline on an H100 on fake tensors on this CPU (about a minute a case); nothing is timed")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results", help="folder for gpu-<card>.json")
    parser.add_argument("--models", nargs="+", choices=list(MODELS), default=list(MODELS))
    parser.add_argument("--steps", type=int, help="timed steps per case (default 10; smoke 2)")
    parser.add_argument("--compile", action="store_true", help="also time SDXL's batch-8 step compiled, in reduce-overhead mode and by cudagraphs (inductor's compile alone took 6 minutes on an H100's host)")
    parser.add_argument("--peak-flops", type=float, help="the card's dense bf16 peak (FLOP/s), where the table lacks it")
    parser.add_argument("--bandwidth", type=float, help="the card's memory bandwidth (bytes/s), where the table lacks it: for the roofline")
    args = parser.parse_args(argv)

    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or "cpu"
    if device.type != "cuda" and not (args.smoke or args.estimate):
        print("bench_gpu: no CUDA device; run with --estimate to count memory on the CPU, or --smoke to check the script", file=sys.stderr)
        return 2
    known = find_card(name) if device.type == "cuda" else None
    peak = args.peak_flops or (known.flops if known else None)
    card = Card(name, peak, args.bandwidth or (known.bandwidth if known else None)) if peak else None
    steps, warmup = (args.steps or 2, 1) if args.smoke else (args.steps or 10, 3)
    torch.backends.cuda.matmul.allow_tf32 = True
    report = {
        "date": datetime.now(timezone.utc).isoformat(),
        "card": "estimated on fake tensors (trainer.memory, trainer.roofline)" if args.estimate else name,
        "smoke": args.smoke,
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "diffusers": diffusers.__version__,
        "method": {"name": "lora", "rank": 16, "targets": "attention and feed-forward"},
        "mixed_precision": "bf16",
        "frozen_weights": "bf16",
        "models": {},
    }
    if not args.estimate:
        report |= {"peak_bf16_flops": peak, "steps": steps}
    args.out.mkdir(parents=True, exist_ok=True)
    out = args.out / f"gpu-{'estimate' if args.estimate else slug(name)}{'-smoke' if args.smoke else ''}.json"

    def save() -> None:
        out.write_text(json.dumps(report, indent=2) + "\n")

    for name in args.models:
        if args.estimate:
            report["models"][name] = estimate_model(name, CASES, args.smoke)
            save()
        else:
            bench_model(name, report["models"].setdefault(name, {}), save, device, args.smoke, steps, warmup, card, args.compile)
    print(json.dumps(report, indent=2))
    print(f"wrote {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
