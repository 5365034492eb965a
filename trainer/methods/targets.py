"""Which layers a method wraps, as kohya and LyCORIS choose them by default.

A target is a module class: LyCORIS wraps every Linear and Conv inside it.
The text encoders (when trained) get their attention and MLP layers, as
kohya's LoRA for SDXL does.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

TEXT_ENCODER = ("CLIPAttention", "CLIPMLP")


@dataclass(frozen=True)
class Targets:
    unet: tuple[str, ...]
    text_encoder: tuple[str, ...] = TEXT_ENCODER
    conv: bool = False  # 3x3 convolutions too (conv_rank, conv_alpha)
    norms: bool = False  # GroupNorm and LayerNorm weights too

    def preset(self, group: str, prefix: str) -> dict:
        """LyCORIS's preset for one model; every key set, see Method.create."""
        return {
            "enable_conv": self.conv,
            "target_module": list(getattr(self, group)),
            "target_name": [],
            "module_algo_map": {},
            "name_algo_map": {},
            "exclude_name": [],
            "use_fnmatch": False,
            "lora_prefix": prefix,
        }

    def widths(self, model: torch.nn.Module, group: str) -> set[int]:
        """Output widths of the Linear and Conv2d layers these targets wrap in `model`."""
        classes = set(getattr(self, group))
        return {
            layer.weight.shape[0]
            for module in model.modules()
            if type(module).__name__ in classes
            for layer in module.modules()
            if isinstance(layer, (torch.nn.Linear, torch.nn.Conv2d))
        }


# kohya's LoRA: the linear layers of attention (to_q, to_k, to_v, to_out) and feed-forward.
ATTENTION = Targets(unet=("Attention", "FeedForward"))
# kohya's LoCon and LyCORIS's default: also the ResNet blocks and the down/upsamplers.
ATTENTION_AND_CONV = Targets(unet=("Attention", "FeedForward", "ResnetBlock2D", "Downsample2D", "Upsample2D"), conv=True)
# Full fine-tuning: every layer that has weights.
EVERYTHING = Targets(unet=("Linear", "Conv2d", "GroupNorm", "LayerNorm"), text_encoder=("Linear", "LayerNorm"), conv=True, norms=True)
