"""Samples and evaluator scores during a run: files in runs/<id>/samples, `sample` and `eval` events, clear errors."""

from trainer.events import EventRecords
from trainer.train import train

PROMPTS = [{"prompt": "a large red star in the center on a white background", "seed": 1}, {"prompt": "a small blue circle at the top on a black background", "negative_prompt": "red"}]


def run(config, tmp_path, base):
    events = []
    train(config, tmp_path, EventRecords(events.append), load_model=lambda *_: base)
    return events


def test_samples_every_n_steps_and_at_the_end(tmp_path, base):
    config = {"training": {"max_steps": 5, "seed": 0}, "data": {"images": 4}, "sample": {"every": 3, "prompts": PROMPTS, "steps": 4}}
    events = run(config, tmp_path, base)
    samples = [e for e in events if e["type"] == "sample"]
    assert [e["step"] for e in samples] == [0, 3, 5]
    assert events[-1]["type"] == "finished"
    for event in samples:
        assert [(i["prompt"], i["seed"]) for i in event["images"]] == [(p["prompt"], p.get("seed", 0)) for p in PROMPTS]
        assert all((tmp_path / i["file"]).is_file() and i["file"].startswith("samples/") for i in event["images"])


def test_eval_scores_fidelity_and_retention(tmp_path, base):
    config = {"training": {"max_steps": 2}, "data": {"images": 4, "concept": "star"}, "eval": {"every": 2, "prompts": 4, "steps": 4}}
    evals = [e for e in run(config, tmp_path, base) if e["type"] == "eval"]
    assert [e["step"] for e in evals] == [0, 2]
    assert evals[0]["retention"] == 1.0 and 0 <= evals[0]["base_score"] <= 1
    assert all(0 <= e["fidelity"] <= 1 for e in evals)


def test_sampling_without_prompts_names_the_field(tmp_path, base):
    events = run({"training": {"max_steps": 1}, "sample": {"every": 1}}, tmp_path, base)
    assert events[-1]["type"] == "failed" and events[-1]["error"].startswith("sample.prompts:")


def test_eval_on_a_folder_names_the_field(tmp_path, base):
    from trainer.shapes.concepts import write_concept_set

    write_concept_set(tmp_path / "data", "star", count=2, resolution=64, repeats=1)
    events = run({"training": {"max_steps": 1}, "data": {"source": "folder", "path": str(tmp_path / "data")}, "eval": {"every": 1}}, tmp_path, base)
    assert events[-1]["type"] == "failed" and events[-1]["error"].startswith("eval.every:")
