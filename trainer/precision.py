"""Mixed precision: which dtype the forward pass runs in, the gradient scaler fp16 needs (undone before gradients are measured and clipped), and full bf16.

Adapter weights and optimizer state stay float32 in every mode but full bf16;
only the UNet's activations are computed in 16 bits. fp16's narrow range lets
small gradients underflow to zero, so its loss is scaled up before backward and
the gradients scaled back down before the optimizer sees them (a GradScaler);
bf16 has float32's range and needs none. Full bf16 (sd-scripts' --full_bf16)
also stores the adapter's weights, and so its gradients and most optimizers'
state, in bf16: less memory, coarser updates (an update smaller than 1/256 of
a weight is lost). One-dimensional weights (norm scales and shifts, biases)
stay float32: autocast runs normalisation in float32, and a bf16 norm weight
there is an error, not a saving. The saved adapter file is float32 either way.
"""

from __future__ import annotations

import contextlib
import math

import torch

from trainer.config import ConfigError

DTYPES = {"no": None, "fp16": torch.float16, "bf16": torch.bfloat16}


class Precision:
    def __init__(self, mode: str, device: torch.device, full_bf16: bool = False):
        if full_bf16 and mode != "bf16":
            raise ConfigError(f"training.full_bf16: needs training.mixed_precision bf16 (it is '{mode}')")
        self.mode = mode
        self.device = device
        self.dtype = DTYPES[mode]
        self.weight_dtype = torch.bfloat16 if full_bf16 else torch.float32
        self.scaler = torch.amp.GradScaler(device.type) if mode == "fp16" else None

    @property
    def frozen_dtype(self) -> torch.dtype:
        """How the frozen base model is stored: on a GPU in the forward pass's 16 bits, as sd-scripts does
        (half the memory: SDXL's UNet is 10 GB in float32, 5 GB in bf16); on a CPU, whose 16-bit
        arithmetic is emulated and slow, in float32."""
        return self.dtype if self.dtype is not None and self.device.type == "cuda" else torch.float32

    def store(self, params: list[torch.nn.Parameter]) -> list[torch.nn.Parameter]:
        """The adapter's weights in their training dtype (in place; the same Parameters, so param groups stay valid)."""
        for p in params:
            if p.ndim > 1:
                p.data = p.data.to(self.weight_dtype)
        return params

    def autocast(self):
        if self.dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.dtype)

    def sampling(self):
        """Sampling and scoring run in float32, unless the base is stored in 16 bits: then the adapter's
        float32 weights meet 16-bit layers, and autocast makes them agree."""
        return self.autocast() if self.frozen_dtype != torch.float32 else contextlib.nullcontext()

    def backward(self, loss: torch.Tensor) -> None:
        (self.scaler.scale(loss) if self.scaler else loss).backward()

    def unscale_measure_clip(self, optimizer: torch.optim.Optimizer, params: list[torch.nn.Parameter], max_norm: float | None) -> float:
        """The L2 norm of all gradients, unscaled; above max_norm they are scaled down together to it.

        Returns the norm before clipping, as sd-scripts and accelerate report it.
        Overflowed gradients are routine for fp16, whose scaler skips that step;
        in any other mode they would poison the weights, so they end the run here,
        before the update, and the last saved adapter stays good.
        """
        if self.scaler:
            self.scaler.unscale_(optimizer)
        grads = [p.grad for p in params if p.grad is not None]
        if not grads:
            return 0.0
        norm = float(torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g.float()) for g in grads])))
        if not self.scaler and not math.isfinite(norm):
            raise FloatingPointError(f"the gradients became {norm}; lower optimizer.lr")
        if max_norm is not None and math.isfinite(norm) and norm > max_norm:
            for g in grads:
                g.mul_(max_norm / (norm + 1e-6))  # torch's clip_grad_norm_ factor, from the norm just measured
        return norm

    def step(self, optimizer: torch.optim.Optimizer) -> None:
        """Apply the update; with fp16 the scaler skips a step whose gradients overflowed and lowers its scale."""
        if self.scaler:
            self.scaler.step(optimizer)
            self.scaler.update()
        else:
            optimizer.step()

    def state_dict(self) -> dict:
        return self.scaler.state_dict() if self.scaler else {}

    def load_state_dict(self, state: dict) -> None:
        if self.scaler and state:
            self.scaler.load_state_dict(state)

