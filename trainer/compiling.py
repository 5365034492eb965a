"""training.torch_compile: the UNet's training step through torch.compile (sd-scripts' --torch_compile).

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
    backend = training.dynamo_backend
    if backend == "cudagraphs" and device.type != "cuda":
        raise ConfigError(f"training.dynamo_backend: cudagraphs records CUDA kernels, and this run trains on the {device.type}; use inductor or aot_eager")
    # A worker trains run after run on the same UNet: old runs' graphs (guarded on adapters now gone) would fill
    # dynamo's cache until it stops compiling and falls back to eager without a word.
    torch._dynamo.reset()
    compiled = torch.compile(unet, backend=backend)

    def predict(*args, **kwargs):
        try:
            return compiled(*args, **kwargs)
        except torch._dynamo.exc.BackendCompilerFailed as error:
            message = str(error.inner_exception).strip()
            cause = message.splitlines()[0] if message else type(error.inner_exception).__name__
            raise ConfigError(f"training.dynamo_backend: torch.compile's {backend} backend failed on this machine ({cause}); try aot_eager, or set training.torch_compile: false") from error

    return predict
