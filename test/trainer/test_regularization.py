"""Regularization images (sd-scripts' reg_data_dir, prior_loss_weight): balanced to the dataset, weighted in the loss, checked up front."""

import pytest
from safetensors import safe_open

from trainer import config as configs
from trainer import image_folder
from trainer.events import EventRecords
from trainer.train import prepare_data, train

from test_image_folder import add


def folders(tmp_path, train_images=5, train_repeats=2, reg_images=3):
    for i in range(train_images):
        add(tmp_path / "data" / f"{train_repeats}_star", f"s{i}", (32, 32), caption=f"a star {i}")
    for i in range(reg_images):
        add(tmp_path / "reg" / "1_shape", f"r{i}", (32, 32), caption=f"a shape {i}", colour=(10, 10, 200))
    return {"source": "folder", "path": str(tmp_path / "data"), "reg_path": str(tmp_path / "reg"), "resolution": 32}


def test_fewer_regularization_images_are_cycled_to_as_many_as_the_dataset(tmp_path):
    data = prepare_data(configs.load({"data": {**folders(tmp_path), "prior_loss_weight": 0.25}}).data)
    assert len(data) == 20 and data.regularization == 10  # 5 images x 2 repeats, then 3 regularization images cycled to 10
    reg = [e.source.stem for e in data.examples[10:]]
    assert reg == ["r0", "r1", "r2"] * 3 + ["r0"]
    assert data.loss_weights.tolist() == [1.0] * 10 + [0.25] * 10
    assert data.captions[10] == "a shape 0"


def test_more_regularization_images_than_the_dataset_use_the_first(tmp_path):
    data = prepare_data(configs.load({"data": folders(tmp_path, train_images=2, train_repeats=1, reg_images=5)}).data)
    assert [e.source.stem for e in data.examples] == ["s0", "s1", "r0", "r1"]


def test_the_shapes_world_draws_base_shapes_as_regularization():
    data = prepare_data(configs.load({"data": {"concept": "star", "images": 6, "reg_images": 4}}).data)
    assert len(data) == 12 and data.regularization == 6
    assert all("star" in c for c in data.captions[:6]) and not any("star" in c for c in data.captions[6:])
    assert data.captions[6:10] != data.captions[:4]


def test_drawn_regularization_is_refused_for_a_folder(tmp_path):
    with pytest.raises(configs.ConfigError, match="data.reg_images: .*data.reg_path"):
        prepare_data(configs.load({"data": {**folders(tmp_path), "reg_path": "", "reg_images": 4}}).data)


def test_problems_in_the_dataset_and_the_regularization_folder_come_together(tmp_path):
    config = folders(tmp_path)
    add(tmp_path / "data" / "2_star", "uncaptioned", (32, 32), caption=None)
    (tmp_path / "reg" / "1_shape" / "broken.png").write_text("not a png")
    (tmp_path / "reg" / "1_shape" / "broken.txt").write_text("a caption")
    with pytest.raises(image_folder.DatasetError) as raised:
        prepare_data(configs.load({"data": config}).data)
    message = str(raised.value)
    assert "data.path: 1 problem(s)" in message and "2_star/uncaptioned.png: no caption file" in message
    assert "data.reg_path: 1 problem(s)" in message and "1_shape/broken.png: not a readable image" in message


def test_a_missing_regularization_folder_is_named():
    with pytest.raises(image_folder.DatasetError, match="data.reg_path: '/nowhere/reg' is not a folder"):
        prepare_data(configs.load({"data": {"concept": "star", "images": 4, "reg_path": "/nowhere/reg"}}).data)


def first_loss(base, tmp_path, weight):
    """The loss of step 1 (before any update) on a batch that holds every image, training and regularization."""
    events = []
    run = tmp_path / f"run-{weight}"
    run.mkdir()
    config = {"data": {**folders(tmp_path, train_images=2, train_repeats=1, reg_images=2), "prior_loss_weight": weight}, "training": {"max_steps": 1, "batch_size": 4}}
    train(config, run, EventRecords(events.append), load_model=lambda *_: base)
    assert events[-1]["type"] == "finished", events[-1]
    return next(e["loss"] for e in events if e["type"] == "step"), run


def test_prior_loss_weight_scales_the_regularization_images_share_of_the_loss(base, tmp_path):
    # The same seed draws the same noise and timesteps, so the loss is linear in the weight: half a weight of 2 plus a weight of 0 is a weight of 1.
    (none, _), (one, run), (two, _) = (first_loss(base, tmp_path, w) for w in (0.0, 1.0, 2.0))
    assert two > one > none > 0
    assert one == pytest.approx((none + two) / 2, rel=1e-5)
    with safe_open(run / "adapter.safetensors", "pt") as f:
        metadata = f.metadata()
    assert (metadata["ss_num_train_images"], metadata["ss_num_reg_images"], metadata["ss_prior_loss_weight"]) == ("2", "2", "1.0")
