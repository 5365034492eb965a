"""Sample images during a run, as sd-scripts' sample prompts do: prompt, negative prompt, seed, steps, CFG scale.

Drawing goes through the model family's diffusers pipeline
(StableDiffusionPipeline, StableDiffusionXLPipeline) built from the loaded
base model's own modules (the adapter, applied in place, is included); the
sampler is one row of SAMPLERS (schema sample.sampler).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch
from diffusers import DiffusionPipeline, DPMSolverMultistepScheduler, EulerDiscreteScheduler
from PIL import Image

from trainer import models
from trainer.config import ConfigError
from trainer.registry import Registry

SAMPLES_DIR = "samples"
Encode = Callable[[list[str]], tuple[torch.Tensor, torch.Tensor | None]]  # texts -> prompt embeddings (B, T, D), SDXL's pooled (B, P) or None


@dataclass(frozen=True)
class Sampler:
    summary: str
    scheduler: type


SAMPLERS: Registry[Sampler] = Registry(
    "sampler",
    {
        "euler": Sampler("Euler: SDXL's default sampler; simple and predictable.", EulerDiscreteScheduler),
        "dpmpp_2m": Sampler("DPM-Solver++ 2M: sharp results in fewer steps.", DPMSolverMultistepScheduler),
    },
)


@dataclass(frozen=True)
class SamplePrompt:
    prompt: str
    negative_prompt: str = ""
    seed: int = 0


def pipeline(base: models.BaseModel, sampler: str = "euler") -> DiffusionPipeline:
    """The family's pipeline on the base model's modules: no copy, so an adapter on the UNet draws too."""
    pipe = base.family.pipeline(
        **base.pipeline_components(),
        scheduler=SAMPLERS[sampler].scheduler.from_config(base.noise_scheduler.config),
        **base.family.pipeline_options,
    )
    pipe.set_progress_bar_config(disable=True)
    return pipe


@torch.no_grad()
def draw(pipe: DiffusionPipeline, prompts: list[SamplePrompt], steps: int, cfg_scale: float, resolution: int, encode: Encode | None = None) -> list[Image.Image]:
    """One image per prompt, drawn in one batch; each from its own seed, so a prompt's image never depends on its neighbours.

    `encode`: texts -> the run's own (prompt embeddings, SDXL's pooled or None), in place of the pipeline's
    encoding, for a clip skip (diffusers' clip_skip reaches for `text_model`, which transformers 5 removed, and
    skips no layer for the negative prompt, where A1111 does) or captions longer than one window.
    """
    # An empty negative prompt is passed as None: SDXL's pipeline then uses zero embeddings, the unconditional
    # input shapes-xl was pretrained with (caption dropout); SD1/SD2's encode an empty prompt.
    negatives = [p.negative_prompt for p in prompts]
    text = {"prompt": [p.prompt for p in prompts], "negative_prompt": negatives if any(negatives) else None}
    if encode is not None:
        embeds, pooled = encode(text["prompt"])
        # As the pipelines do: SDXL zeros an all-empty negative, SD1/SD2 encode it.
        negative, negative_pooled = encode(negatives) if any(negatives) or pooled is None else (torch.zeros_like(embeds), torch.zeros_like(pooled))
        text = {"prompt_embeds": embeds, "negative_prompt_embeds": negative}
        if pooled is not None:
            text |= {"pooled_prompt_embeds": pooled, "negative_pooled_prompt_embeds": negative_pooled}
    return pipe(
        **text,
        num_inference_steps=steps,
        guidance_scale=cfg_scale,
        height=resolution,
        width=resolution,
        generator=[torch.Generator().manual_seed(p.seed) for p in prompts],
    ).images


def save(images: list[Image.Image], run_dir: Path, step: int) -> list[str]:
    """Write runs/<id>/samples/<step>_<index>.png; returns the paths relative to the run folder."""
    folder = run_dir / SAMPLES_DIR
    folder.mkdir(parents=True, exist_ok=True)
    names = []
    for index, image in enumerate(images):
        name = f"{SAMPLES_DIR}/{step:06d}_{index}.png"
        image.save(run_dir / name)
        names.append(name)
    return names


def sample(pipe: DiffusionPipeline, cfg, resolution: int, run_dir: Path, step: int, encode: Encode | None = None) -> list[dict]:
    """Draw the config's sample prompts (the `sample` section), save them; the `sample` event's images."""
    if not cfg.prompts:
        raise ConfigError("sample.prompts: empty; add a prompt to draw, or set sample.every: 0")
    prompts = [SamplePrompt(**p) for p in cfg.prompts]  # list items stay plain dicts; the dataclass holds the schema's defaults
    files = save(draw(pipe, prompts, cfg.steps, cfg.cfg_scale, resolution, encode), run_dir, step)
    return [{"file": file, "prompt": p.prompt, "seed": p.seed} for file, p in zip(files, prompts)]
