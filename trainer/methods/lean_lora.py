"""LoRA and LoCon on LyCORIS's LoConModule, with a forward that moves less memory: the same weights, file and result.

LyCORIS scales the update where it is largest, on the layer's output: up(down(x)) * (alpha/rank) * scalar, two
multiplies over the whole activation, each with its twin in backward; the second, by a 0-dim tensor, runs on
CUDA's slow broadcast path. On an H100 (bench/README.md) those multiplies took 18% of the GPU's time in an SDXL
batch-8 LoRA step. Here the scale goes on the up matrix instead, a few thousand numbers, and under autocast the input is cast
to the compute dtype once, not once for the layer and again for the adapter.
"""

from __future__ import annotations

import torch
from lycoris.modules.locon import LoConModule


class LeanLoCon(LoConModule):
    def bypass_forward(self, x: torch.Tensor, scale: float = 1) -> torch.Tensor:
        # Tucker's middle conv, DoRA's weight norm and rank dropout's mask between down and up keep LyCORIS's path.
        if self.tucker or self.wd or (self.rank_dropout and self.training):
            return super().bypass_forward(x, scale)
        device = x.device.type
        if torch.is_autocast_enabled(device):
            x = x.to(torch.get_autocast_dtype(device))
        down = self.lora_down
        conv = {"stride": down.stride, "padding": down.padding, "dilation": down.dilation, "groups": down.groups} if self.isconv else {}
        up = self.lora_up.weight * (self.scalar * (self.scale * scale))
        update = self.up_op(self.down_op(x, down.weight.to(x.dtype), **conv), up.to(x.dtype))
        return self.org_forward(x) + self.dropout(update)
