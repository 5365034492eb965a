"""The shipped evaluator reads fresh images correctly, and by it the base model meets the quality bars of issue 4."""

import pytest

from trainer.evaluation import base_report
from trainer.shapes import evaluator


@pytest.fixture(scope="module")
def judge():
    return evaluator.load()


@pytest.mark.parametrize("head", evaluator.HEADS)
def test_at_least_98_percent_on_fresh_images(judge, head):
    images, _, scenes = evaluator.labelled(300, seed=424242)  # a seed it was never trained on
    assert evaluator.score(judge, images, scenes, (head,)) >= 0.98


@pytest.fixture(scope="module")
def report():
    """The shipped model scored as models/shapes-xl/PRETRAIN.md reports it, on fewer prompts."""
    return base_report("shapes-xl", prompts=60)


def test_base_model_draws_known_shapes_and_colours(report):
    assert report["base shape and color"] >= 0.9


@pytest.mark.parametrize("concept", ["star", "striped"])
def test_base_model_does_not_know_held_out_concepts(report, concept):
    assert report[f"{concept} drawn, never taught"] <= 0.1


def test_the_first_taste_learns_the_star_and_keeps_the_base(base, tmp_path):
    """Issue 4's first taste, short: the welcome lesson's first cell as a learner runs it, 150 steps, scored at the end on
    16 prompts each. `npm run bench` runs it to 400 steps on 32 prompts against the bar itself (fidelity 0.8 at retention
    0.9, met there on seeds 0, 1 and 2). Here it scores 0.81 / 1.0; the plain LoRA it replaced (rank 8, batch 4, 20 random
    stars, no regularization images, no word embedding) kept about half the base prompts."""
    from trainer.bench import first_lora_cell
    from trainer.events import EventRecords
    from trainer.train import train

    cell = first_lora_cell()
    config = {**cell, "sample": {"every": 0}, "eval": {"every": cell["training"]["max_steps"], "prompts": 16}}
    events = []
    train(config, tmp_path, EventRecords(events.append), load_model=lambda *_: base)
    before, after = [e for e in events if e["type"] == "eval"]
    assert before["fidelity"] <= 0.1
    assert after["fidelity"] >= 0.7 and after["retention"] >= 0.9, after
