"""Single-file checkpoints: an A1111 / ComfyUI .safetensors or .ckpt -> diffusers modules.

Such a file holds every component under the original (LDM/SGM) key names. Its
family is read off the text encoder's keys; diffusers' from_single_file converts
the weights, with the family's pipeline folder that models/configs ships as the
architecture, so nothing is fetched from the hub.
"""

from __future__ import annotations

from pathlib import Path

import diffusers
import torch
from diffusers import DiffusionPipeline
from diffusers.loaders.single_file_utils import SingleFileComponentError
from safetensors import safe_open

from trainer.config import ConfigError

CONFIGS = Path(__file__).resolve().parents[1] / "models" / "configs"

# The key prefix only each family's text encoder has, in the order they are tried.
FAMILY_KEYS = {
    "sdxl": "conditioner.embedders.1.model.",  # OpenCLIP-G beside CLIP-L (SGM naming)
    "sd2": "cond_stage_model.model.transformer.",  # OpenCLIP-H
    "sd15": "cond_stage_model.transformer.text_model.",  # OpenAI CLIP-L
}

# What a file that is no base model most likely is, to say so; the first match wins.
LOOKALIKES = [
    ("a LoRA or LyCORIS adapter, not a base model", lambda keys: any(key.startswith(("lora_", "lycoris_")) or ".lora_" in key for key in keys)),
    ("an SDXL refiner (OpenCLIP-G alone), which tunebook does not train", lambda keys: any(key.startswith("conditioner.embedders.0.model.") for key in keys)),
    ("a VAE alone", lambda keys: all(key.removeprefix("first_stage_model.").split(".")[0] in ("encoder", "decoder", "quant_conv", "post_quant_conv") for key in keys)),
    ("a UNet without its text encoder", lambda keys: any(key.startswith("model.diffusion_model.") for key in keys)),
    ("a diffusers-format component; give the diffusers folder instead", lambda keys: any(key.startswith(("down_blocks.", "text_model.")) for key in keys)),
]

def detect(keys, path: Path | str = "the checkpoint") -> str:
    """The family ("sd15", "sd2" or "sdxl") of a checkpoint from its key names."""
    keys = list(keys)
    for family, prefix in FAMILY_KEYS.items():
        if any(key.startswith(prefix) for key in keys):
            return family
    looks_like = next((what for what, matches in LOOKALIKES if keys and matches(keys)), "no Stable Diffusion checkpoint tunebook knows")
    expected = ", ".join(f"{family}: {prefix}*" for family, prefix in FAMILY_KEYS.items())
    raise ConfigError(f"model: {path} is not an SD1.5, SD2.x or SDXL checkpoint: it looks like {looks_like} (a checkpoint has text encoder keys {expected})")


# The UNet's first convolution: its input channels tell a text-to-image model (4) from an inpainting (9) or instruct-pix2pix (8) one.
UNET_INPUT = "model.diffusion_model.input_blocks.0.0.weight"


def safetensors_shapes(path: Path) -> dict[str, tuple[int, ...]]:
    with safe_open(path, framework="pt") as checkpoint:  # reads the header only
        return {key: tuple(checkpoint.get_slice(key).get_shape()) for key in checkpoint.keys()}


def ckpt_shapes(path: Path) -> dict[str, tuple[int, ...]]:
    checkpoint = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    # Lightning's .ckpt nests the weights, as diffusers' loader also unwraps.
    while "state_dict" in checkpoint:
        checkpoint = checkpoint["state_dict"]
    return {key: tuple(getattr(value, "shape", ())) for key, value in checkpoint.items()}


def check_text_to_image(shapes: dict[str, tuple[int, ...]], path: Path | str) -> None:
    channels = shapes.get(UNET_INPUT, (0, 4))[1]
    if channels != 4:
        raise ConfigError(f"model: {path} has a UNet that takes {channels} input channels, not a text-to-image model's 4: an inpainting (9) or instruct-pix2pix (8) checkpoint, which tunebook does not train")


# A checkpoint's suffix -> how to list its tensors' names and shapes, and what a file that fails to is likely to be.
READERS = {
    ".safetensors": (safetensors_shapes, "truncated, or not a safetensors file"),
    ".ckpt": (ckpt_shapes, "truncated, not a PyTorch checkpoint, or one that pickles more than tensors, which a weights-only load refuses"),
}


def load_components(path: Path | str, config_dir: Path | str | None = None) -> tuple[str, dict]:
    """(family, diffusers modules by pipeline name: unet, vae, text_encoder[_2], tokenizer[_2], scheduler).

    `config_dir` is a diffusers pipeline folder of configs; by default the
    shipped one of the detected family (models/configs/<family>).
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise ConfigError(f"model: {path} does not exist (a single-file checkpoint is a .safetensors or .ckpt file)")
    if path.suffix not in READERS:
        raise ConfigError(f"model: {path} is not a single-file checkpoint; expected one of {', '.join(READERS)}")
    read_shapes, likely = READERS[path.suffix]
    try:
        shapes = read_shapes(path)
    except Exception as error:  # each format fails in its own way on a truncated or foreign file
        raise ConfigError(f"model: {path} cannot be read as a {path.suffix} checkpoint ({likely}): {error}") from error
    family = detect(shapes, path)
    check_text_to_image(shapes, path)
    config_dir = Path(config_dir) if config_dir else CONFIGS / family
    pipeline_class = getattr(diffusers, DiffusionPipeline.load_config(config_dir)["_class_name"])
    try:
        pipeline = pipeline_class.from_single_file(str(path), config=str(config_dir), local_files_only=True)
    except SingleFileComponentError as error:  # a whole component is absent; the first line names its class
        raise ConfigError(f"model: {path} is incomplete: {error.message.splitlines()[0]}") from error
    except NotImplementedError as error:
        if "meta tensor" not in str(error):
            raise
        # diffusers leaves a weight the file lacks on the meta device, then fails to move the UNet or VAE.
        raise ConfigError(f"model: {path} is incomplete: its UNet or VAE lacks some weights (a pruned or partial checkpoint?)") from error
    components = {name: module for name, module in pipeline.components.items() if module is not None}
    check_complete(path, components)
    return family, components


def check_complete(path: Path, components: dict) -> None:
    # A text encoder's weight the file lacks stays on the meta device too, silently,
    # and would fail far from here, on the first forward.
    for name, module in components.items():
        if isinstance(module, torch.nn.Module):
            missing = [weight for weight, tensor in module.state_dict().items() if tensor.is_meta]
            if missing:
                raise ConfigError(f"model: {path} is incomplete: its {name} lacks {len(missing)} weights, e.g. {missing[0]}")
