"""DyLoRA as kohya trains it, on LyCORIS's DyLoraModule and its saved format.

LyCORIS 4.1.3's DyLoraModule samples a random rank on every forward, in eval
too (so a trained adapter never gives the same output twice), its bypass path
reshapes a truncated rank to the full one and fails, and it cannot load its
own file back. This subclass keeps LyCORIS's parameters and its saved format
(a plain LoRA: lora_down, lora_up, alpha) and fixes the forward: while training,
a random number of rank blocks is used and only the last of them gets gradients
(DyLoRA's ordered ranks); in eval, the full rank, exactly the LoRA the file holds.
"""

from __future__ import annotations

import random

import torch
from lycoris.modules.dylora import DyLoraModule


class OrderedRankDyLora(DyLoraModule):
    def _load_from_state_dict(self, state_dict, prefix, *args):
        # The file holds the blocks concatenated, as a LoRA; split them back.
        up, down = state_dict.pop(prefix + "lora_up.weight", None), state_dict.pop(prefix + "lora_down.weight", None)
        if up is not None and down is not None:
            for i, block in enumerate(up.split(self.block_size, dim=1)):
                state_dict[f"{prefix}up_list.{i}"] = block
            for i, block in enumerate(down.reshape(self.lora_dim, -1).split(self.block_size, dim=0)):
                state_dict[f"{prefix}down_list.{i}"] = block
        super()._load_from_state_dict(state_dict, prefix, *args)

    def _rank_weights(self) -> tuple[torch.Tensor, torch.Tensor]:
        blocks = random.randint(1, self.block_count) if self.training else self.block_count
        # Blocks before the sampled one are used but not trained this step.
        frozen = [b.detach() for b in self.down_list[: blocks - 1]], [b.detach() for b in self.up_list[: blocks - 1]]
        down = torch.cat(frozen[0] + [self.down_list[blocks - 1]])  # (r', in)
        up = torch.cat(frozen[1] + [self.up_list[blocks - 1]], dim=1)  # (out, r')
        return down, up

    def forward(self, x, *args, **kwargs):
        if self.training and self.module_dropout and torch.rand(1) < self.module_dropout:
            return self.org_forward(x, *args, **kwargs)
        down, up = self._rank_weights()
        down = down.view(down.shape[0], *self.shape[1:]) if self.module_type != "linear" else down
        up = up.view(*up.shape, *(1 for _ in self.shape[2:]))
        delta = self.op(self.op(x, down, **self.kw_dict), up)  # up is 1x1: no stride or padding
        return self.org_forward(x, *args, **kwargs) + delta * self.scale * self.multiplier
