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
    """x W^T + b + (x down^T)(factor up)^T for a frozen W and b, computed in x's dtype: the gradients of x, down and up
    (in their own dtypes), none of W's, b's or the factor's.

    Each sum happens inside a matrix multiply (addmm_ adds its product to the tensor it writes), where autograd would
    otherwise add two activation-sized tensors. The casts and the scaling happen in here too, so that autograd
    keeps one node per layer, not five: at batch 1 a GPU waits for the CPU, which walks those nodes."""

    @staticmethod
    def forward(ctx, x, weight, bias, down, up, factor):
        dtype = x.dtype
        weight, down_c, up_c = weight.to(dtype), down.to(dtype), (up * factor).to(dtype)
        rows = x.reshape(-1, x.shape[-1])
        mid = rows @ down_c.t()
        out = rows @ weight.t() if bias is None else torch.addmm(bias.to(dtype), rows, weight.t())
        out.addmm_(mid, up_c.t())
        ctx.save_for_backward(rows, mid, weight, down_c, up_c, factor)
        ctx.input_shape, ctx.dtypes = x.shape, (down.dtype, up.dtype)
        return out.view(*x.shape[:-1], out.shape[-1])

    @staticmethod
    def backward(ctx, grad):
        rows, mid, weight, down, up, factor = ctx.saved_tensors
        grad = grad.reshape(-1, grad.shape[-1])
        grad_mid = grad @ up
        grad_x = None
        if ctx.needs_input_grad[0]:  # a first layer's input needs none: its large matrix multiply is skipped
            grad_x = (grad @ weight).addmm_(grad_mid, down).view(ctx.input_shape)
        down_dtype, up_dtype = ctx.dtypes
        return grad_x, None, None, (grad_mid.t() @ rows).to(down_dtype), (grad.t() @ mid).to(up_dtype) * factor, None


class LeanLoCon(LoConModule):
    def bypass_forward(self, x: torch.Tensor, scale: float = 1) -> torch.Tensor:
        # Tucker's middle conv, DoRA's weight norm and rank dropout's mask between down and up keep LyCORIS's path.
        if self.tucker or self.wd or (self.rank_dropout and self.training):
            return super().bypass_forward(x, scale)
        device = x.device.type
        if torch.is_autocast_enabled(device):
            x = x.to(torch.get_autocast_dtype(device))
        factor = self.scalar * (self.scale * scale)
        layer = self.org_module[0]
        if self.joins_in_matmul(layer):
            return LoRALinear.apply(x, layer.weight, layer.bias, self.lora_down.weight, self.lora_up.weight, factor)
        down = self.lora_down
        conv = {"stride": down.stride, "padding": down.padding, "dilation": down.dilation, "groups": down.groups} if self.isconv else {}
        update = self.up_op(self.down_op(x, down.weight.to(x.dtype), **conv), (self.lora_up.weight * factor).to(x.dtype))
        return self.org_forward(x) + self.dropout(update)

    def joins_in_matmul(self, layer: torch.nn.Module) -> bool:
        """Whether LoRALinear computes this layer: a frozen torch Linear, called as itself (not through another
        adapter wrapped around it first, nor a quantised linear), with a fixed scale and no dropout on the update."""
        return (
            type(layer) is torch.nn.Linear
            and getattr(self.org_forward, "__self__", None) is layer
            and not (layer.weight.requires_grad or (layer.bias is not None and layer.bias.requires_grad) or self.scalar.requires_grad)
            and not (self.training and isinstance(self.dropout, torch.nn.Dropout))
        )
