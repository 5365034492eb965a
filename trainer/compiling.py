"""training.torch_compile: the UNet's training step through torch.compile (sd-scripts' --torch_compile), by
training.dynamo_backend, in training.dynamo_mode.

Only the loop's calls go through the compiled UNet. torch.compile wraps the UNet
without copying it, so the adapter trains the same weights, while sampling and
scoring keep calling the UNet itself: no-grad and eval mode would be graphs of
their own, each with its own wait.
"""

from __future__ import annotations

import torch

from trainer.config import ConfigError, Frozen


def training_unet(unet: torch.nn.Module, training: Frozen, device: torch.device):
    """What the loop calls to predict: the UNet, or its compiled wrapper."""
    if not training.torch_compile:
        return unet
    backend, mode = training.dynamo_backend, training.dynamo_mode
    if backend == "cudagraphs" and device.type != "cuda":
        raise ConfigError(f"training.dynamo_backend: cudagraphs records CUDA kernels, and this run trains on the {device.type}; use inductor or aot_eager")
    if mode != "default" and backend != "inductor":
        raise ConfigError(f"training.dynamo_mode: {mode} is a mode of the inductor backend, and training.dynamo_backend is {backend}; set dynamo_mode to default")
    if mode == "reduce-overhead" and device.type != "cuda":  # inductor would quietly skip the graphs
        raise ConfigError(f"training.dynamo_mode: reduce-overhead replays CUDA graphs, and this run trains on the {device.type}; set dynamo_mode to default")
    compiled = torch.compile(unet, backend=backend, mode=None if mode == "default" else mode)

    def predict(*args, **kwargs):
        try:
            return compiled(*args, **kwargs)
        except torch._dynamo.exc.BackendCompilerFailed as error:
            message = str(error.inner_exception).strip()
            cause = message.splitlines()[0] if message else type(error.inner_exception).__name__
            raise ConfigError(f"training.dynamo_backend: torch.compile's {backend} backend failed on this machine ({cause}); try aot_eager, or set training.torch_compile: false") from error

    return predict


def release(training: Frozen) -> None:
    """After a compiled run, forget its graphs: a worker trains run after run on the same UNet. Kept, graphs guarded
    on adapters now gone would fill dynamo's cache until it stops compiling and falls back to eager without a word,
    and CUDA graphs would keep their memory pool (45 GB for SDXL at batch 8, measured) from the next run."""
    if training.torch_compile:
        torch._dynamo.reset()  # also frees the CUDA graph trees
