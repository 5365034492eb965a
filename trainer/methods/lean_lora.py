"""LoRA and LoCon on LyCORIS's LoConModule, with a forward that moves less memory: the same weights, file and result.

LyCORIS scales the update where it is largest, on the layer's output: up(down(x)) * (alpha/rank) * scalar, two
multiplies over the whole activation, each with its twin in backward; the second, by a 0-dim tensor, runs on
CUDA's slow broadcast path. On an H100 (bench/README.md) those multiplies took 18% of the GPU's time in an SDXL
batch-8 LoRA step. Here the scale goes on the up matrix instead, a few thousand numbers, and under autocast the input is cast
to the compute dtype once, not once for the layer and again for the adapter.

On a plain Linear layer the update then joins the layer's output inside the up matrix multiply (LoRALinear): the
matrix multiply adds its product to the output it is given, so neither the forward's sum of the two paths nor the
backward's sum of their input gradients is a pass over the activation of its own. Those two sums were the largest
kernel in the same step after the multiplies went (10% of the GPU's time, bench/results/h100-2026-11-27).
"""

from __future__ import annotations

import torch
from lycoris.modules.locon import LoConModule


class LoRALinear(torch.autograd.Function):
    """x W^T + b + (x down^T) up^T for a frozen W and b: the gradients of x, down and up, none of W's or b's.

    `up` comes with the update's scale already on it. Each sum happens inside a matrix multiply (addmm_ adds its
    product to the tensor it writes), where autograd would otherwise add two activation-sized tensors."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, down: torch.Tensor, up: torch.Tensor) -> torch.Tensor:
        rows = x.reshape(-1, x.shape[-1])
        mid = rows @ down.t()
        out = rows @ weight.t() if bias is None else torch.addmm(bias, rows, weight.t())
        out.addmm_(mid, up.t())
        ctx.save_for_backward(rows, mid, weight, down, up)
        ctx.input_shape = x.shape
        return out.view(*x.shape[:-1], out.shape[-1])

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        rows, mid, weight, down, up = ctx.saved_tensors
        grad = grad.reshape(-1, grad.shape[-1])
        grad_mid = grad @ up
        grad_x = None
        if ctx.needs_input_grad[0]:  # a first layer's input needs none: its large matrix multiply is skipped
            grad_x = (grad @ weight).addmm_(grad_mid, down).view(ctx.input_shape)
        return grad_x, None, None, grad_mid.t() @ rows, grad.t() @ mid


class LeanLoCon(LoConModule):
    def bypass_forward(self, x: torch.Tensor, scale: float = 1) -> torch.Tensor:
        # Tucker's middle conv, DoRA's weight norm and rank dropout's mask between down and up keep LyCORIS's path.
        if self.tucker or self.wd or (self.rank_dropout and self.training):
            return super().bypass_forward(x, scale)
        device = x.device.type
        if torch.is_autocast_enabled(device):
            x = x.to(torch.get_autocast_dtype(device))
        down = self.lora_down.weight.to(x.dtype)
        up = (self.lora_up.weight * (self.scalar * (self.scale * scale))).to(x.dtype)
        if self.joins_in_matmul():
            layer = self.org_module[0]
            bias = None if layer.bias is None else layer.bias.to(x.dtype)
            return LoRALinear.apply(x, layer.weight.to(x.dtype), bias, down, up)
        conv = {"stride": self.lora_down.stride, "padding": self.lora_down.padding, "dilation": self.lora_down.dilation, "groups": self.lora_down.groups} if self.isconv else {}
        return self.org_forward(x) + self.dropout(self.up_op(self.down_op(x, down, **conv), up))

    def joins_in_matmul(self) -> bool:
        """Whether LoRALinear computes this layer: a frozen torch Linear, called as itself (not through another
        adapter wrapped around it first, nor a quantised linear), with no dropout on the update."""
        layer = self.org_module[0]
        frozen = not any(p.requires_grad for p in layer.parameters())
        called_as_itself = getattr(self.org_forward, "__self__", None) is layer and type(layer) is torch.nn.Linear
        return frozen and called_as_itself and not (self.training and isinstance(self.dropout, torch.nn.Dropout))
