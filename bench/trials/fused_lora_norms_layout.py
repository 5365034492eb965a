"""For the next session with a GPU: does the fused LoRA linear (trainer/methods/lean_lora.py, LoRALinear) raise SDXL's
batch-8 MFU, and would bf16 norms or a channels-last UNet add to it? Issue 7 wants 45% on an H100; the last
measurement (bench/results/h100-2026-11-27) gave 20.2% eager and 30.7% compiled, with elementwise kernels high in
the eager step's top_kernels: the two paths' sums (10.5%), float32<->bf16 casts around autocast's float32 norms
(about 11%), NCHW->NHWC transposes before cuDNN's convolutions (2-4%).

    bash scripts/gpu/wheels.sh                    # here: the packages, into runs/gpu-wheels (carry it to the GPU machine)
    bash scripts/gpu/bench.sh /tmp/smoke --smoke  # there: installs them (into /tmp/pydeps), runs a 1-minute check
    source scripts/gpu/python.sh && PYTHONPATH=$PYTHONPATH:. "$PY" bench/trials/fused_lora_norms_layout.py "$OUT" PART...

PART: a name in PARTS below, or `eager` for all the uncompiled ones (about 5 minutes on an H100, the UNet built once
per part): SDXL batch 8 with the separate sum (the forward before LoRALinear), with LoRALinear, and with LoRALinear
and bf16 norms, a channels-last UNet, or both; and the low-memory case with LoRALinear (issue 7's 8 GB goal). A
compiled part takes about 7 minutes (inductor's compile, reduce-overhead mode), so one per call: pick it by what the
eager parts showed. Each part writes OUT/<part>/gpu-<card>.json; every part runs the same ops, so flops_per_step
should agree and images_per_second alone compares them.
With `--smoke` at the end it runs on a shrunken UNet on any device (a check of this script here; it measures nothing).
With `--estimate` it needs no GPU: each part's peak memory and its roofline on an H100 (trainer/roofline.py), the
least time its ops could take eager and fused, counted on fake tensors (about half a minute a part here).

What the roofline says to run first (bench/README.md): no eager part can reach 45% on an H100 (perfect kernels would
give 40.5%, 48.6% with bf16 norms, and the H100's ran at 63-64% of that floor); compiled, the floor allows 53.0% and
56.5% with bf16 norms, and the compiled kernels ran at 70% of theirs. So, in a 15-minute session: `lora-linear`
(about 2 minutes: is the eager floor's share still 63%?), then `compiled-lora-linear-bf16-norms` (predicted about
0.31 s a step, 39% MFU). Each report's roofline.of_device_time is the share of the eager floor its kernels reached.
Beside the MFU goal, `compiled-cudagraphs-batch-1` says how much of batch 1's step (0.59 s on an H200, 19% busy) is
the CPU's launching, which most users, training at batch 1, wait on.
"""
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import torch
from lycoris.wrapper import network_module_dict

from trainer import bench_gpu as B
from trainer.methods import LeanLoCon


class SeparateSum(LeanLoCon):
    """The forward before LoRALinear: base output plus update, two tensors summed by an elementwise add."""

    def joins_in_matmul(self, layer) -> bool:
        return False


def bf16_norms():
    """layer_norm and group_norm in the autocast dtype instead of autocast's float32 (the kernels accumulate in
    float32 either way): no casts around them, half the bytes they read, write and keep for backward."""
    return B.autocast_norms(torch.get_autocast_dtype)


@contextmanager
def channels_last():
    """The UNet's weights and the latents in NHWC, the layout cuDNN's convolutions run in on Hopper."""
    build, inputs = B.build_unet, B.inputs

    def nhwc_unet(config, device):
        unet = build(config, device)
        for weight in unet.parameters():  # what unet.to(memory_format=...) does, in a way fake tensors (--estimate) allow
            if weight.ndim == 4:
                weight.data = weight.data.contiguous(memory_format=torch.channels_last)
        return unet

    B.build_unet = nhwc_unet

    def nhwc_inputs(*args):
        latents, conditioning = inputs(*args)
        return latents.contiguous(memory_format=torch.channels_last), conditioning

    B.inputs = nhwc_inputs
    try:
        yield
    finally:
        B.build_unet, B.inputs = build, inputs


@contextmanager
def nothing():
    yield


@contextmanager
def both():
    with bf16_norms(), channels_last():
        yield


COMPILED_8 = B.COMPILED[0]  # reduce-overhead
# name: (LoRA module, setting, cases)
PARTS = {
    "separate-sum": (SeparateSum, nothing, [B.Case(8)]),
    "lora-linear": (LeanLoCon, nothing, [B.Case(8), B.LOW_MEMORY]),
    "lora-linear-bf16-norms": (LeanLoCon, bf16_norms, [B.Case(8)]),
    "lora-linear-channels-last": (LeanLoCon, channels_last, [B.Case(8)]),
    "lora-linear-bf16-norms-channels-last": (LeanLoCon, both, [B.Case(8)]),
    "compiled-lora-linear": (LeanLoCon, nothing, [COMPILED_8]),
    "compiled-lora-linear-bf16-norms": (LeanLoCon, bf16_norms, [COMPILED_8]),
    "compiled-lora-linear-bf16-norms-channels-last": (LeanLoCon, both, [COMPILED_8]),
    # batch 1, where the GPU waits for the CPU (13-19% busy): the eager kernels recorded once and replayed, with no
    # inductor compile (dynamo's trace alone)
    "compiled-cudagraphs-batch-1": (LeanLoCon, nothing, [B.Case(1, torch_compile=True, dynamo_backend="cudagraphs")]),
}
EAGER = [name for name in PARTS if not name.startswith("compiled")]


def main(out: Path, names: list[str], extra: list[str]) -> None:
    start = time.perf_counter()
    for name in names:
        module, setting, cases = PARTS[name]
        network_module_dict["lora"] = module
        B.CASES, B.COMPILED = cases, []
        print(f"=== {name} at {time.perf_counter() - start:.0f} s", flush=True)
        with setting():
            B.main(["--out", str(out / name), "--models", "sdxl", *extra])
    print(f"=== done at {time.perf_counter() - start:.0f} s", flush=True)


if __name__ == "__main__":
    args = sys.argv[2:]
    names = [n for a in args if not a.startswith("--") for n in (EAGER if a == "eager" else [a])]
    main(Path(sys.argv[1]), names, [a for a in args if a.startswith("--")])
