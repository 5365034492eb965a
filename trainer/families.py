"""Model families: what differs between SD1.5, SD2.x and SDXL, one row each.

Everything else (VAE, UNet2DConditionModel, the noise schedule, the loop) is
the same code. A folder's family is read from its model_index.json (the
pipeline class) and its UNet config; v-prediction is not a family trait but
the folder's scheduler config (training.prediction_type: auto).
"""

from __future__ import annotations

import inspect
import json
from dataclasses import dataclass, field
from pathlib import Path

from diffusers import DiffusionPipeline, StableDiffusionPipeline, StableDiffusionXLPipeline, UNet2DConditionModel
from transformers import CLIPTextModel, CLIPTextModelWithProjection, PreTrainedModel

from trainer.config import ConfigError
from trainer.registry import Registry


@dataclass(frozen=True)
class Family:
    summary: str
    # Draws samples; its class name in model_index.json is half of how a folder is recognised.
    pipeline: type[DiffusionPipeline]
    # UNet config values that tell families with the same pipeline apart (SD2's OpenCLIP-H UNet projects linearly).
    unet_signature: dict
    # The class of text_encoder (and text_encoder_2), in the pipeline's order.
    text_encoders: tuple[type[PreTrainedModel], ...]
    # Which hidden state conditions the UNet, as the pipeline's encode_prompt takes it: None is the last one,
    # after the final layer norm (StableDiffusionPipeline without clip_skip); -2 the penultimate, before it (SDXL).
    hidden_layer: int | None
    # SDXL's added_cond_kwargs: the pooled embedding of the last text encoder and the size/crop time ids.
    micro_conditioning: bool
    # kohya's key prefix per text encoder (sd-scripts: lora_te with one encoder, lora_te1/lora_te2 with two).
    text_encoder_prefixes: tuple[str, ...]
    # kohya's UNet key names: "diffusers" module paths (sd-scripts' SD1/SD2 UNet is diffusers-shaped),
    # or "sgm" (sd-scripts trains SDXL on Stability's UNet: input_blocks_4_1_...).
    unet_layout: str
    # sd-scripts' ss_base_model_version per prediction type, and ss_v2 (A1111 sorts LoRAs by these).
    versions: dict[str, str]
    v2: bool = False
    # Constructor arguments the pipeline needs beyond the base model's modules and a scheduler.
    pipeline_options: dict = field(default_factory=dict)


# A UNet config written by an older diffusers (many SD1.x folders) omits keys added since: they mean the default.
UNET_DEFAULTS = {name: parameter.default for name, parameter in inspect.signature(UNet2DConditionModel.__init__).parameters.items()}

SD_PIPELINE_OPTIONS = {"safety_checker": None, "feature_extractor": None, "requires_safety_checker": False}

FAMILIES: Registry[Family] = Registry(
    "model family",
    {
        "sd15": Family(
            summary="Stable Diffusion 1.x: one CLIP-L text encoder, last hidden state.",
            pipeline=StableDiffusionPipeline,
            unet_signature={"use_linear_projection": False, "addition_embed_type": None},
            text_encoders=(CLIPTextModel,),
            hidden_layer=None,
            micro_conditioning=False,
            text_encoder_prefixes=("lora_te",),
            unet_layout="diffusers",
            versions={"epsilon": "sd_v1", "v_prediction": "sd_v1_v"},
            pipeline_options=SD_PIPELINE_OPTIONS,
        ),
        "sd2": Family(
            summary="Stable Diffusion 2.x: one OpenCLIP-H text encoder (as a CLIPTextModel), last hidden state; 768-v models predict v.",
            pipeline=StableDiffusionPipeline,
            unet_signature={"use_linear_projection": True, "addition_embed_type": None},
            text_encoders=(CLIPTextModel,),
            hidden_layer=None,
            micro_conditioning=False,
            text_encoder_prefixes=("lora_te",),
            unet_layout="diffusers",
            versions={"epsilon": "sd_v2", "v_prediction": "sd_v2_v"},
            v2=True,
            pipeline_options=SD_PIPELINE_OPTIONS,
        ),
        "sdxl": Family(
            summary="Stable Diffusion XL: CLIP-L and OpenCLIP-G, penultimate hidden states concatenated; pooled text and size/crop ids.",
            pipeline=StableDiffusionXLPipeline,
            unet_signature={"addition_embed_type": "text_time"},
            text_encoders=(CLIPTextModel, CLIPTextModelWithProjection),
            hidden_layer=-2,
            micro_conditioning=True,
            text_encoder_prefixes=("lora_te1", "lora_te2"),
            unet_layout="sgm",
            versions={"epsilon": "sdxl_base_v1-0", "v_prediction": "sdxl_base_v1-0"},
            pipeline_options={"add_watermarker": False},
        ),
    },
)


def identify(name: str, pipeline_class: str, unet_config: dict) -> str:
    """The family of a model from its pipeline class name and UNet config."""
    found = [
        key
        for key, family in FAMILIES.items()
        if family.pipeline.__name__ == pipeline_class and all(unet_config.get(k, UNET_DEFAULTS.get(k)) == v for k, v in family.unet_signature.items())
    ]
    if len(found) != 1:
        known = "; ".join(f"{key}: a {family.pipeline.__name__} whose UNet has {family.unet_signature}" for key, family in FAMILIES.items())
        raise ConfigError(f"model: '{name}' is a {pipeline_class} of no family tunebook trains; known: {known}")
    return found[0]


def of_folder(name: str, path: Path) -> str:
    """The family of a diffusers folder, from model_index.json and unet/config.json."""
    index = json.loads((path / "model_index.json").read_text())
    unet = json.loads((path / "unet" / "config.json").read_text())
    return identify(name, index.get("_class_name", "an unnamed pipeline"), unet)
