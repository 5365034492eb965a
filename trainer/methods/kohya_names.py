"""Kohya's module names: diffusers' module paths, or for SDXL's UNet the original SGM layout.

sd-scripts trains SDXL on Stability's own UNet (sgm), so an SDXL LoRA names
`down_blocks.1.attentions.0` as `input_blocks.4.1`; A1111, Forge and ComfyUI
look modules up by these names. Its SD1/SD2 UNet keeps diffusers' module
paths (lora_unet_down_blocks_0_attentions_0_...), so those files do too: the
family's unet_layout says which. The block numbering is derived from the UNet's config
(how many blocks, layers per block, which have attention), so the tiny
shapes-xl maps as exactly as a real SDXL.
"""

from __future__ import annotations

from typing import Callable

import torch
from diffusers import UNet2DConditionModel

# Modules outside the block structure.
TOP_LEVEL = {
    "conv_in": "input_blocks.0.0",
    "time_embedding.linear_1": "time_embed.0",
    "time_embedding.linear_2": "time_embed.2",
    "add_embedding.linear_1": "label_emb.0.0",
    "add_embedding.linear_2": "label_emb.0.2",
    "conv_norm_out": "out.0",
    "conv_out": "out.2",
}

# A diffusers ResnetBlock2D's layers under their LDM ResBlock names.
RESNET_LAYERS = {
    "norm1": "in_layers.0",
    "conv1": "in_layers.2",
    "time_emb_proj": "emb_layers.1",
    "norm2": "out_layers.0",
    "conv2": "out_layers.3",
    "conv_shortcut": "skip_connection",
}


def _per_block(value, count: int) -> list[int]:
    return list(value) if isinstance(value, (list, tuple)) else [value] * count


def block_prefixes(config) -> dict[str, str]:
    """Every block-level diffusers prefix -> its LDM prefix, e.g. 'down_blocks.1.attentions.0' -> 'input_blocks.4.1'."""
    levels = len(config.down_block_types)
    layers = _per_block(config.layers_per_block, levels)
    prefixes: dict[str, str] = {}
    # input_blocks: conv_in (0), then per level its layers, then a downsampler on all but the last level.
    index = 1
    for level, kind in enumerate(config.down_block_types):
        for layer in range(layers[level]):
            prefixes[f"down_blocks.{level}.resnets.{layer}"] = f"input_blocks.{index}.0"
            if "CrossAttn" in kind:
                prefixes[f"down_blocks.{level}.attentions.{layer}"] = f"input_blocks.{index}.1"
            index += 1
        if level < levels - 1:
            prefixes[f"down_blocks.{level}.downsamplers.0.conv"] = f"input_blocks.{index}.0.op"
            index += 1
    # middle_block: resnet, attention, resnet.
    prefixes.update({"mid_block.resnets.0": "middle_block.0", "mid_block.attentions.0": "middle_block.1", "mid_block.resnets.1": "middle_block.2"})
    # output_blocks: per level one more layer than on the way down; the upsampler joins the level's last layer.
    index = 0
    for level, kind in enumerate(config.up_block_types):
        has_attention = "CrossAttn" in kind
        for layer in range(list(reversed(layers))[level] + 1):
            prefixes[f"up_blocks.{level}.resnets.{layer}"] = f"output_blocks.{index}.0"
            if has_attention:
                prefixes[f"up_blocks.{level}.attentions.{layer}"] = f"output_blocks.{index}.1"
            index += 1
        if level < levels - 1:
            prefixes[f"up_blocks.{level}.upsamplers.0.conv"] = f"output_blocks.{index - 1}.{2 if has_attention else 1}.conv"
    return prefixes


class LdmPaths:
    """Diffusers module paths of one UNet -> the same modules' LDM paths."""

    def __init__(self, config):
        self.blocks = block_prefixes(config)

    def __call__(self, path: str) -> str:
        if path in TOP_LEVEL:
            return TOP_LEVEL[path]
        for block, ldm in self.blocks.items():
            if path == block or path.startswith(block + "."):
                rest = path[len(block) + 1 :]
                if ".resnets." in block and rest:
                    head, _, tail = rest.partition(".")
                    rest = ".".join(filter(None, [RESNET_LAYERS.get(head, head), tail]))
                return ".".join(filter(None, [ldm, rest]))
        return path


# A family's unet_layout -> (UNet config -> kohya's path of a diffusers module path).
UNET_LAYOUTS: dict[str, Callable] = {"diffusers": lambda config: lambda path: path, "sgm": LdmPaths}


def file_names(model: torch.nn.Module, prefix: str, unet_layout: str) -> dict[str, str]:
    """LyCORIS's key name for each module of `model` -> kohya's, e.g. with unet_layout "sgm"
    lora_unet_down_blocks_1_attentions_0_proj_in -> lora_unet_input_blocks_4_1_proj_in.

    Text encoders keep their transformers paths (lora_te1_text_model_encoder_layers_0_...);
    only a UNet is renamed, and only to the "sgm" layout ("diffusers" keeps its paths).
    """
    to_kohya = UNET_LAYOUTS[unet_layout if isinstance(model, UNet2DConditionModel) else "diffusers"](model.config)
    return {f"{prefix}_{path}".replace(".", "_"): f"{prefix}_{to_kohya(path)}".replace(".", "_") for path, _ in model.named_modules() if path}
