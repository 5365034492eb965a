"""Base models: load an SD1.5, SD2.x or SDXL model (diffusers folder or single file), freeze it, and encode what the UNet needs.

The shipped shapes-xl and a real checkpoint go through exactly this code:
from a folder, each component is loaded from its subfolder with its own
class, as the family's pipeline would, but without building a pipeline we
do not use; a single A1111/ComfyUI file is converted by single_file.py.
What differs between families is one row of FAMILIES (families.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from diffusers import AutoencoderKL, DDPMScheduler, UNet2DConditionModel
from PIL import Image
from transformers import CLIPTextModel, CLIPTextModelWithProjection, CLIPTokenizer

from trainer import single_file
from trainer.config import ConfigError
from trainer.families import FAMILIES, Family, of_folder

REPO = Path(__file__).resolve().parents[1]
# Diffusers' component names of the first and second (tokenizer, text encoder).
TEXT_ENCODER_NAMES = (("tokenizer", "text_encoder"), ("tokenizer_2", "text_encoder_2"))


def text_encoder_names(family: Family) -> tuple[tuple[str, str], ...]:
    """The (tokenizer, text encoder) component names of each text encoder the family has, in the pipeline's order."""
    return TEXT_ENCODER_NAMES[: len(family.text_encoders)]


def resolve(name: str) -> Path:
    """A model name from the config -> its folder or file: one under models/, else a path."""
    shipped = REPO / "models" / name
    if "/" not in name and shipped.exists():
        return shipped
    return Path(name).expanduser().resolve()


@dataclass
class BaseModel:
    """The frozen parts of a Stable Diffusion model that a fine-tune trains against."""

    path: Path
    family: Family
    tokenizer: CLIPTokenizer
    text_encoder: CLIPTextModel
    vae: AutoencoderKL
    unet: UNet2DConditionModel
    # Training always adds noise with DDPM's forward process, whatever sampler
    # the folder ships for inference; both read the same beta schedule.
    noise_scheduler: DDPMScheduler
    # SDXL's second text encoder; None in one-encoder families.
    tokenizer_2: CLIPTokenizer | None = None
    text_encoder_2: CLIPTextModelWithProjection | None = None

    @property
    def text_encoders(self) -> list[tuple[CLIPTokenizer, CLIPTextModel]]:
        """(tokenizer, text encoder) of each text encoder the family has, in the pipeline's order."""
        return [(getattr(self, tokenizer), getattr(self, encoder)) for tokenizer, encoder in text_encoder_names(self.family)]

    def pipeline_components(self) -> dict:
        """The modules a pipeline of the family is built from, by their diffusers names; no copies."""
        names = ["vae", "unet", *(name for pair in text_encoder_names(self.family) for name in pair)]
        return {name: getattr(self, name) for name in names}

    def unet_conditioning(self, prompt_embeds: torch.Tensor, pooled: torch.Tensor | None, time_ids: torch.Tensor) -> dict:
        """The UNet's conditioning keyword arguments: the text for cross-attention, plus SDXL's pooled text and size ids."""
        device, _ = placement(self.unet)
        conditioning = {"encoder_hidden_states": prompt_embeds.to(device)}  # (B, T, D)
        if self.family.micro_conditioning:
            conditioning["added_cond_kwargs"] = {"text_embeds": pooled.to(device), "time_ids": time_ids.to(device)}  # (B, P), (B, 6)
        return conditioning


def placement(module: torch.nn.Module) -> tuple[torch.device, torch.dtype]:
    """Where a module's weights are, and their dtype. A diffusers model's `.device` and `.dtype` first walk
    every submodule for group-offloading hooks: 0.3-0.5 ms each on shapes-xl, paid every step."""
    weight = next(module.parameters())
    return weight.device, weight.dtype


def load(name: str, device: torch.device, dtype: torch.dtype = torch.float32) -> BaseModel:
    """The frozen base model of the config's `model`, on `device`, its UNet and text encoders stored as `dtype`.

    The VAE stays float32 in any case: in fp16 its activations overflow (sd-scripts' --no_half_vae).
    """
    path = resolve(name)
    model = assemble(path, *single_file.load_components(path)) if path.suffix in single_file.READERS else from_folder(name, path)
    # The base model is frozen: only the adapter the method adds will train.
    for module in (model.vae, model.unet, *(encoder for _, encoder in model.text_encoders)):
        module.requires_grad_(False)
        module.eval()
        module.to(device, torch.float32 if module is model.vae else dtype)
    return model


def from_folder(name: str, path: Path) -> BaseModel:
    """A diffusers model folder: each component from its subfolder, the text encoders its family has."""
    if not (path / "model_index.json").is_file():
        raise FileNotFoundError(f"model '{name}': {path} is not a diffusers model folder (no model_index.json)")
    family = of_folder(name, path)
    components = {
        "vae": AutoencoderKL.from_pretrained(path / "vae"),
        "unet": UNet2DConditionModel.from_pretrained(path / "unet"),
        "scheduler": DDPMScheduler.from_pretrained(path / "scheduler"),
    }
    for (tokenizer, encoder), encoder_class in zip(text_encoder_names(FAMILIES[family]), FAMILIES[family].text_encoders):
        components[tokenizer] = CLIPTokenizer.from_pretrained(path / tokenizer)
        components[encoder] = encoder_class.from_pretrained(path / encoder)
    return assemble(path, family, components)


def assemble(path: Path, family: str, components: dict) -> BaseModel:
    """A BaseModel from a family's name and its pipeline components by their diffusers names (unet, vae, text_encoder, ..., scheduler)."""
    encoders = {name: components[name] for pair in text_encoder_names(FAMILIES[family]) for name in pair}
    return BaseModel(
        path=path,
        family=FAMILIES[family],
        vae=components["vae"],
        unet=components["unet"],
        noise_scheduler=DDPMScheduler.from_config(components["scheduler"].config),
        **encoders,
    )


def prediction_type(base: BaseModel, configured: str) -> str:
    """training.prediction_type, where `auto` is what the model's scheduler config says (SD2 768-v: v_prediction)."""
    return base.noise_scheduler.config.prediction_type if configured == "auto" else configured


# training.max_token_length counts windows of 75 tokens, as sd-scripts does: 150 is two, 225 three.
TOKENS_PER_WINDOW = 75


def token_ids(tokenizer: CLIPTokenizer, captions: list[str], max_token_length: int = TOKENS_PER_WINDOW) -> torch.Tensor:
    """Captions as a text encoder reads them: (B, n, T), n windows of its length T (77 for CLIP).

    One window is the caption padded or cut to T. For longer captions (training.max_token_length
    150 or 225) the tokens are cut into n windows of T - 2, each between its own BOS and EOS, as
    sd-scripts cuts them: a window that ends mid-caption ends with EOS, and one that starts
    after the caption begins with BOS EOS, as an empty caption would."""
    windows, content = max_token_length // TOKENS_PER_WINDOW, tokenizer.model_max_length - 2
    ids = tokenizer(captions, padding="max_length", max_length=windows * content + 2, truncation=True, return_tensors="pt").input_ids  # (B, n (T-2) + 2)
    chunks = []
    for start in range(1, windows * content + 1, content):
        chunk = torch.cat([ids[:, :1], ids[:, start : start + content], ids[:, -1:]], dim=1)  # (B, T)
        inside = (chunk[:, -2] != tokenizer.eos_token_id) & (chunk[:, -2] != tokenizer.pad_token_id)
        chunk[inside, -1] = tokenizer.eos_token_id
        chunk[chunk[:, 1] == tokenizer.pad_token_id, 1] = tokenizer.eos_token_id
        chunks.append(chunk)
    return torch.stack(chunks, dim=1)  # (B, n, T)


def check_clip_skip(model: BaseModel, clip_skip: int) -> None:
    """A layer the text encoder has; SDXL fixes its layers (the penultimate of both encoders), and sd-scripts ignores clip skip there too."""
    if clip_skip > 1 and model.family.hidden_layer is not None:
        raise ConfigError(f"training.clip_skip: {clip_skip}, but an SDXL model always conditions on fixed text-encoder layers (the penultimate of both); clip skip is for SD1.x and SD2.x: set it to 1")
    layers = min(encoder.config.num_hidden_layers for _, encoder in model.text_encoders)
    if clip_skip > layers:
        raise ConfigError(f"training.clip_skip: {clip_skip}, but this model's text encoder has {layers} layers")


def encode_prompts(model: BaseModel, captions: list[str], clip_skip: int = 1, max_token_length: int = TOKENS_PER_WINDOW) -> tuple[torch.Tensor, torch.Tensor | None]:
    """The text conditioning: (token embeddings for cross-attention, SDXL's pooled embedding or None).

    With gradients unless the caller turns them off: trained text encoders need them.

    As the family's pipeline's encode_prompt: each encoder's chosen hidden
    state, concatenated along features (SDXL has two); the pooled (projected)
    output of the last encoder joins SDXL's time embedding. clip_skip counts
    as A1111 and sd-scripts do: 1 is the last layer, 2 the one before it,
    which then goes through the final layer norm as the last one would.
    Captions longer than one window (max_token_length 150, 225) are encoded
    window by window and joined as sd-scripts joins them: the first BOS, each
    window's tokens between its BOS and EOS, the last window's final token;
    the pooled embedding is the first window's.
    """
    hidden = []
    for tokenizer, encoder in model.text_encoders:
        ids = token_ids(tokenizer, captions, max_token_length)  # (B, n, T)
        batch, windows, length = ids.shape
        out = encoder(ids.view(-1, length).to(encoder.device), output_hidden_states=True)
        layer = model.family.hidden_layer
        if layer is not None:
            states = out.hidden_states[layer]  # (B n, T, D_i)
        else:
            # transformers 5 keeps the final norm on the model itself; 4.x on its text_model
            final_norm = getattr(encoder, "text_model", encoder).final_layer_norm
            states = out.last_hidden_state if clip_skip == 1 else final_norm(out.hidden_states[-clip_skip])  # (B n, T, D)
        states = states.reshape(batch, windows, length, -1)
        if windows > 1:
            states = torch.cat([states[:, 0, :1], states[:, :, 1:-1].flatten(1, 2), states[:, -1, -1:]], dim=1)[:, None]  # (B, 1, n (T-2) + 2, D)
        hidden.append(states[:, 0])  # (B, T', D_i)
    pooled = out.text_embeds.reshape(batch, windows, -1)[:, 0] if model.family.micro_conditioning else None  # (B, P) from the last encoder
    return torch.cat(hidden, dim=-1), pooled  # (B, T', sum D_i), (B, P) or None


def time_ids(original_size: tuple[int, int], crop_top_left: tuple[int, int], target_size: tuple[int, int], batch: int) -> torch.Tensor:
    """SDXL's micro-conditioning: original (h, w), crop (top, left), target (h, w)."""
    ids = torch.tensor([[*original_size, *crop_top_left, *target_size]], dtype=torch.float32)  # (1, 6)
    return ids.repeat(batch, 1)  # (B, 6)


def pixels(images: list[Image.Image]) -> torch.Tensor:
    """PIL images -> the VAE's input range."""
    array = np.stack([np.asarray(image.convert("RGB"), dtype=np.float32) for image in images])  # (B, H, W, 3) in [0, 255]
    return torch.from_numpy(array).permute(0, 3, 1, 2) / 127.5 - 1  # (B, 3, H, W) in [-1, 1]
