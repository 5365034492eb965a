"""Base models: load a diffusers SDXL folder, freeze it, and encode what the UNet needs.

The shipped shapes-xl and a real SDXL checkpoint go through exactly this code:
each component is loaded from its subfolder with its own class, as
StableDiffusionXLPipeline would, but without building a pipeline we do not use.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from diffusers import AutoencoderKL, DDPMScheduler, UNet2DConditionModel
from PIL import Image
from transformers import CLIPTextModel, CLIPTextModelWithProjection, CLIPTokenizer

REPO = Path(__file__).resolve().parents[1]


def resolve(name: str) -> Path:
    """A model name from the config -> its folder: a folder under models/, else a path."""
    shipped = REPO / "models" / name
    if "/" not in name and shipped.is_dir():
        return shipped
    return Path(name).expanduser().resolve()


@dataclass
class BaseModel:
    """The frozen parts of Stable Diffusion XL that a fine-tune trains against."""

    path: Path
    tokenizer: CLIPTokenizer
    tokenizer_2: CLIPTokenizer
    text_encoder: CLIPTextModel
    text_encoder_2: CLIPTextModelWithProjection
    vae: AutoencoderKL
    unet: UNet2DConditionModel
    # Training always adds noise with DDPM's forward process, whatever sampler
    # the folder ships for inference; both read the same beta schedule.
    noise_scheduler: DDPMScheduler


def load(name: str, device: torch.device) -> BaseModel:
    path = resolve(name)
    if not (path / "model_index.json").is_file():
        raise FileNotFoundError(f"model '{name}': {path} is not a diffusers model folder (no model_index.json)")
    model = BaseModel(
        path=path,
        tokenizer=CLIPTokenizer.from_pretrained(path / "tokenizer"),
        tokenizer_2=CLIPTokenizer.from_pretrained(path / "tokenizer_2"),
        text_encoder=CLIPTextModel.from_pretrained(path / "text_encoder"),
        text_encoder_2=CLIPTextModelWithProjection.from_pretrained(path / "text_encoder_2"),
        vae=AutoencoderKL.from_pretrained(path / "vae"),
        unet=UNet2DConditionModel.from_pretrained(path / "unet"),
        noise_scheduler=DDPMScheduler.from_pretrained(path / "scheduler"),
    )
    # The base model is frozen: only the adapter the method adds will train.
    for module in (model.text_encoder, model.text_encoder_2, model.vae, model.unet):
        module.requires_grad_(False)
        module.eval()
        module.to(device)
    return model


def encode_prompts(model: BaseModel, captions: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
    """SDXL's text conditioning: (token embeddings for cross-attention, pooled embedding).

    With gradients unless the caller turns them off: trained text encoders need them.

    As in StableDiffusionXLPipeline.encode_prompt: the penultimate hidden state
    of each encoder, concatenated along features; the pooled (projected)
    output of encoder 2 joins the time embedding.
    """
    hidden = []
    for tokenizer, encoder in ((model.tokenizer, model.text_encoder), (model.tokenizer_2, model.text_encoder_2)):
        ids = tokenizer(captions, padding="max_length", max_length=tokenizer.model_max_length, truncation=True, return_tensors="pt").input_ids
        out = encoder(ids.to(encoder.device), output_hidden_states=True)
        hidden.append(out.hidden_states[-2])  # (B, T, D_i)
    pooled = out.text_embeds  # (B, P) from encoder 2
    return torch.cat(hidden, dim=-1), pooled  # (B, T, D_1 + D_2), (B, P)


def time_ids(original_size: tuple[int, int], crop_top_left: tuple[int, int], target_size: tuple[int, int], batch: int) -> torch.Tensor:
    """SDXL's micro-conditioning: original (h, w), crop (top, left), target (h, w)."""
    ids = torch.tensor([[*original_size, *crop_top_left, *target_size]], dtype=torch.float32)  # (1, 6)
    return ids.repeat(batch, 1)  # (B, 6)


def pixels(images: list[Image.Image]) -> torch.Tensor:
    """PIL images -> the VAE's input range."""
    array = np.stack([np.asarray(image.convert("RGB"), dtype=np.float32) for image in images])  # (B, H, W, 3) in [0, 255]
    return torch.from_numpy(array).permute(0, 3, 1, 2) / 127.5 - 1  # (B, 3, H, W) in [-1, 1]
