"""Fidelity and retention during a run: the shapes evaluator reads samples of fixed prompts.

fidelity:  the fraction of the new concept's prompts whose image shows it (shape,
           colour, and texture for a style), as the evaluator reads it;
retention: the base prompts' score now, divided by the base model's own score on
           the same prompts and seeds, measured at step 0 (the adapter starts as
           the identity), so 1.0 means nothing was forgotten.

`python -m trainer.evaluation MODEL` scores a base model itself against issue 4's
bars: shape and colour right on base prompts, and how often the held-out
concepts show up unasked (what models/shapes-xl/PRETRAIN.md reports).
"""

from __future__ import annotations

import argparse
import json

import torch
from diffusers import DiffusionPipeline
from PIL import Image

from trainer import models, sampling, shapes
from trainer.config import ConfigError
from trainer.shapes import evaluator
from trainer.shapes.concepts import CONCEPTS

# Prompts are drawn from their own seeds, never the training data's, so the score is on unseen captions.
FIDELITY_SEED, RETENTION_SEED = 1_000_003, 2_000_003


def draw_scenes(pipe: DiffusionPipeline, scenes, steps: int, cfg_scale: float, resolution: int = 64) -> list:
    """Each scene's caption drawn from its own seed (its index), as every score here draws them."""
    return sampling.draw(pipe, [sampling.SamplePrompt(scene.caption, seed=i) for i, scene in enumerate(scenes)], steps, cfg_scale, resolution)


class Judge:
    def __init__(self, pipe: DiffusionPipeline, concept: str, prompts: int, steps: int, cfg_scale: float, resolution: int):
        self.pipe, self.steps, self.cfg_scale, self.resolution = pipe, steps, cfg_scale, resolution
        self.concept = CONCEPTS[concept]
        self.new_scenes = self.concept.scenes(prompts, FIDELITY_SEED)
        self.base_scenes = CONCEPTS["base"].scenes(prompts, RETENTION_SEED)
        self.model = evaluator.load()
        self.base_score: float | None = None

    def _score(self, scenes, heads) -> float:
        images = draw_scenes(self.pipe, scenes, self.steps, self.cfg_scale, self.resolution)
        return evaluator.score(self.model, images, scenes, heads)

    def fix_baseline(self) -> None:
        """The retention baseline: the base prompts' score of the model as it is now. Taken before trained weights are
        loaded (method.start_from, training.resume); otherwise the first score(), at step 0, is the base model's own."""
        self.base_score = self._score(self.base_scenes, CONCEPTS["base"].judged_by)

    def score(self) -> dict[str, float | None]:
        """The first call scores the model as it is (the base) and fixes the retention baseline, unless fix_baseline did."""
        fidelity = self._score(self.new_scenes, self.concept.judged_by)
        base = self._score(self.base_scenes, CONCEPTS["base"].judged_by)
        if self.base_score is None:
            self.base_score = base
        # A base model that gets none of the base prompts right has nothing to retain: no ratio, not a huge one.
        retention = base / self.base_score if self.base_score > 0 else None
        return {"fidelity": fidelity, "retention": retention, "base_score": self.base_score}


def judge(pipe: DiffusionPipeline, cfg) -> Judge:
    """The run's Judge; only the shapes world has labels to score against."""
    if cfg.data.source != "shapes":
        raise ConfigError(f"eval.every: the evaluator scores the shapes world only, and data.source is '{cfg.data.source}'; set eval.every: 0")
    return Judge(pipe, cfg.data.concept, cfg.eval.prompts, cfg.eval.steps, cfg.eval.cfg_scale, cfg.data.resolution)


# The prompts PRETRAIN.md's base-model numbers were measured on (as test_evaluator.py draws them).
BASE_REPORT_SEED = 777


@torch.no_grad()
def through_vae(vae, images: list[Image.Image]) -> list[Image.Image]:
    """Each image encoded and decoded again (from the posterior's mean) on the VAE's device: the best a UNet could hand the decoder."""
    decoded = vae.decode(vae.encode(models.pixels(images).to(vae.device)).latent_dist.mean).sample  # (B, 3, H, W) in [-1, 1]
    array = ((decoded.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()
    return [Image.fromarray(image) for image in array]


def vae_ceiling(vae, judge_model: evaluator.Evaluator, scenes: list[shapes.Scene], resolution: int = 64) -> float:
    """Shape and colour read right in the scenes' own images after a round trip through the VAE: what no UNet can beat."""
    return evaluator.score(judge_model, through_vae(vae, [shapes.render(scene, resolution) for scene in scenes]), scenes)


def base_report(model: str, prompts: int = 96, steps: int = 20, cfg_scale: float = 5.0) -> dict[str, float]:
    """Base prompts drawn right (shape and colour, and each alone), the same read from the VAE's round trip of their
    true images, and held-out concepts drawn when asked for them."""
    pipe = sampling.pipeline(models.load(model, torch.device("cpu")))
    judge_model = evaluator.load()

    def drawn(concept: str, count: int):
        scenes = CONCEPTS[concept].scenes(count, seed=BASE_REPORT_SEED)
        return draw_scenes(pipe, scenes, steps, cfg_scale), scenes

    images, scenes = drawn("base", prompts)
    report = {f"base {' and '.join(heads)}": evaluator.score(judge_model, images, scenes, heads) for heads in (("shape", "color"), ("shape",), ("color",))}
    report["base shape and color, true images through the VAE"] = vae_ceiling(pipe.vae, judge_model, scenes)
    for concept, head, value in (("star", "shape", "star"), ("striped", "texture", "striped")):
        images, _ = drawn(concept, prompts // 3)
        report[f"{concept} drawn, never taught"] = sum(label[head] == value for label in evaluator.classify(judge_model, images)) / len(images)
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description="Score a shapes-world base model against issue 4's bars.")
    parser.add_argument("model", help="a model name under models/ or a folder")
    parser.add_argument("--prompts", type=int, default=96)
    args = parser.parse_args()
    print(json.dumps(base_report(args.model, args.prompts), indent=1))


if __name__ == "__main__":
    main()
