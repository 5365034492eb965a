"""Diffusers modules -> one checkpoint with the original (LDM/SGM) key names, as A1111 and ComfyUI save them.

Diffusers only converts the other way, so the tests write the single files that
trainer/single_file.py reads with this (learned from diffusers'
scripts/convert_diffusers_to_original_stable_diffusion.py and ..._sdxl.py):

    model.diffusion_model.*        the UNet, in the LDM block layout (kohya_names.LdmPaths)
    first_stage_model.*            the VAE
    cond_stage_model.transformer.* SD1.x's CLIP-L, transformers names under text_model.
    cond_stage_model.model.*       SD2.x's OpenCLIP-H, OpenCLIP names, q/k/v fused
    conditioner.embedders.0/1.*    SDXL's CLIP-L and OpenCLIP-G
    betas, alphas_cumprod          the LatentDiffusion wrapper's noise schedule, which a loader skips
"""

from __future__ import annotations

import re
from pathlib import Path

import safetensors.torch
import torch

from trainer.methods.kohya_names import LdmPaths

# family -> (component, key writer, prefix) of each text encoder.
TEXT_ENCODERS = {
    "sd15": [("text_encoder", "clip", "cond_stage_model.transformer.")],
    "sd2": [("text_encoder", "open_clip", "cond_stage_model.model.")],
    "sdxl": [("text_encoder", "clip", "conditioner.embedders.0.transformer."), ("text_encoder_2", "open_clip", "conditioner.embedders.1.model.")],
}

# A diffusers VAE module path -> its LDM path; `levels` reverses the decoder's numbering.
VAE_RULES = [
    (r"^(encoder|decoder)\.mid_block\.resnets\.(\d+)", lambda m, levels: f"{m[1]}.mid.block_{int(m[2]) + 1}"),
    (r"^(encoder|decoder)\.mid_block\.attentions\.0", lambda m, levels: f"{m[1]}.mid.attn_1"),
    (r"^encoder\.down_blocks\.(\d+)\.resnets", lambda m, levels: f"encoder.down.{m[1]}.block"),
    (r"^encoder\.down_blocks\.(\d+)\.downsamplers\.0", lambda m, levels: f"encoder.down.{m[1]}.downsample"),
    (r"^decoder\.up_blocks\.(\d+)\.resnets", lambda m, levels: f"decoder.up.{levels - 1 - int(m[1])}.block"),
    (r"^decoder\.up_blocks\.(\d+)\.upsamplers\.0", lambda m, levels: f"decoder.up.{levels - 1 - int(m[1])}.upsample"),
    (r"\.conv_norm_out$", lambda m, levels: ".norm_out"),
    (r"\.conv_shortcut$", lambda m, levels: ".nin_shortcut"),
    (r"\.group_norm$", lambda m, levels: ".norm"),
    (r"\.to_([qkv])$", lambda m, levels: f".{m[1]}"),
    (r"\.to_out\.0$", lambda m, levels: ".proj_out"),
]

# An OpenCLIP residual block's layers under their transformers names (q/k/v are fused apart from these).
OPEN_CLIP_LAYER = {"layer_norm1": "ln_1", "layer_norm2": "ln_2", "self_attn.out_proj": "attn.out_proj", "mlp.fc1": "mlp.c_fc", "mlp.fc2": "mlp.c_proj"}


def unet_keys(unet) -> dict[str, torch.Tensor]:
    to_ldm = LdmPaths(unet.config)
    renamed = {}
    for key, tensor in unet.state_dict().items():
        module, _, name = key.rpartition(".")
        renamed[f"model.diffusion_model.{to_ldm(module)}.{name}"] = tensor
    return renamed


def vae_keys(vae, prefix: str = "first_stage_model.") -> dict[str, torch.Tensor]:
    levels = len(vae.config.block_out_channels)
    renamed = {}
    for key, tensor in vae.state_dict().items():
        module, _, name = key.rpartition(".")
        for pattern, replace in VAE_RULES:
            module = re.sub(pattern, lambda m: replace(m, levels), module)
        if ".mid.attn_1." in f"{module}." and tensor.ndim == 2:
            tensor = tensor[:, :, None, None]  # LDM's attention is 1x1 convolutions
        renamed[f"{prefix}{module}.{name}"] = tensor
    return renamed


def clip_keys(encoder, prefix: str) -> dict[str, torch.Tensor]:
    # transformers flattened CLIPTextModel (no text_model.); the original keeps it.
    return {f"{prefix}text_model.{key.removeprefix('text_model.')}": tensor for key, tensor in encoder.state_dict().items()}


def open_clip_keys(encoder, prefix: str) -> dict[str, torch.Tensor]:
    weights = {key.removeprefix("text_model."): tensor for key, tensor in encoder.state_dict().items()}
    hidden = encoder.config.hidden_size
    # SD2's text encoder is a CLIPTextModel without the projection its checkpoint carries.
    projection = weights["text_projection.weight"].T if "text_projection.weight" in weights else torch.eye(hidden)
    renamed = {
        f"{prefix}token_embedding.weight": weights["embeddings.token_embedding.weight"],
        f"{prefix}positional_embedding": weights["embeddings.position_embedding.weight"],
        f"{prefix}ln_final.weight": weights["final_layer_norm.weight"],
        f"{prefix}ln_final.bias": weights["final_layer_norm.bias"],
        f"{prefix}text_projection": projection,
    }
    for layer in range(encoder.config.num_hidden_layers):
        ours, theirs = f"encoder.layers.{layer}.", f"{prefix}transformer.resblocks.{layer}."
        for kind in ("weight", "bias"):
            renamed[f"{theirs}attn.in_proj_{kind}"] = torch.cat([weights[f"{ours}self_attn.{p}_proj.{kind}"] for p in "qkv"])
            renamed.update({f"{theirs}{name}.{kind}": weights[f"{ours}{path}.{kind}"] for path, name in OPEN_CLIP_LAYER.items()})
    return renamed


KEY_WRITERS = {"clip": clip_keys, "open_clip": open_clip_keys}


def schedule_buffers() -> dict[str, torch.Tensor]:
    betas = torch.linspace(0.00085**0.5, 0.012**0.5, 1000, dtype=torch.float64) ** 2  # "scaled_linear"
    return {"betas": betas, "alphas_cumprod": torch.cumprod(1 - betas, 0)}


def checkpoint(family: str, components: dict) -> dict[str, torch.Tensor]:
    """One state dict of a whole model, as a single-file checkpoint of `family` names it."""
    state = {**unet_keys(components["unet"]), **vae_keys(components["vae"]), **schedule_buffers()}
    for name, writer, prefix in TEXT_ENCODERS[family]:
        state.update(KEY_WRITERS[writer](components[name], prefix))
    return state


def save(state: dict[str, torch.Tensor], path: Path) -> None:
    """.safetensors flat; .ckpt nested under "state_dict", as Lightning (and so the original SD .ckpt files) saved it."""
    state = {key: tensor.detach().clone().contiguous() for key, tensor in state.items()}
    if path.suffix == ".safetensors":
        safetensors.torch.save_file(state, path)
    else:
        torch.save({"state_dict": state}, path)
