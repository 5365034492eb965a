"""Image folders as sd-scripts reads them: checked in full before training, bucketed, conditioned on the real size."""

import json

import pytest
import torch
from PIL import Image
from safetensors import safe_open

from trainer import config as configs
from trainer import image_folder
from trainer.events import EventRecords
from trainer.train import prepare_data, train

# 64² area, sides 32..128 in steps of 16: buckets 64x64, 80x48, 48x80, 96x32, ...
BUCKETS = {"resolution": 64, "buckets": True, "bucket_min_side": 32, "bucket_max_side": 128, "bucket_step": 16}


def add(folder, name, size, caption="a red thing", colour=(200, 30, 30)):
    folder.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, colour).save(folder / f"{name}.png")
    if caption is not None:
        (folder / f"{name}.txt").write_text(caption)


def mixed_folder(root):
    for i, size in enumerate([(96, 64), (64, 96), (64, 64), (100, 60), (60, 100), (70, 70)]):
        add(root / "2_mixed", f"img{i}", size, caption=f"shape {i}", colour=(40 * i, 200 - 30 * i, 90))
    return root


def test_every_problem_is_reported_by_name_before_any_step(base, tmp_path):
    folder = tmp_path / "1_set"
    add(folder, "good", (32, 32))
    add(folder, "truncated", (64, 64))
    Image.effect_noise((64, 64), 50).convert("RGB").save(folder / "truncated.png")  # noise compresses poorly: a long pixel stream
    (folder / "truncated.png").write_bytes((folder / "truncated.png").read_bytes()[:2000])  # the header opens; the pixels end early
    (folder / "not_an_image.png").write_text("hello")
    (folder / "not_an_image.txt").write_text("a caption")
    add(folder, "uncaptioned", (32, 32), caption=None)
    events = []
    config = {"data": {"source": "folder", "path": str(tmp_path), "resolution": 32}, "training": {"max_steps": 2}}
    (tmp_path.parent / "run").mkdir(exist_ok=True)
    train(config, tmp_path.parent / "run", EventRecords(events.append), load_model=lambda *_: base)
    assert [e["type"] for e in events] == ["failed"]  # no started, no step
    error = events[0]["error"]
    assert "3 problem(s)" in error
    assert "1_set/truncated.png: not a readable image" in error
    assert "1_set/not_an_image.png: not a readable image" in error
    assert "1_set/uncaptioned.png: no caption file (uncaptioned.txt or uncaptioned.caption)" in error
    assert "good.png" not in error


def test_a_long_problem_list_is_cut_with_a_count(tmp_path):
    for i in range(25):
        add(tmp_path / "1_x", f"{i:02d}", (8, 8), caption=None)
    with pytest.raises(image_folder.DatasetError, match=r"25 problem\(s\)") as raised:
        image_folder.scan(tmp_path)
    assert str(raised.value).count("no caption file") == image_folder.PROBLEMS_SHOWN
    assert str(raised.value).endswith("... and 5 more")


def test_examples_keep_paths_and_sizes_not_pixels(tmp_path):
    examples = image_folder.scan(mixed_folder(tmp_path))
    assert len(examples) == 12 and all(isinstance(e.source, type(tmp_path)) for e in examples)
    assert examples[0].size == (96, 64) and examples[0].image().size == (96, 64)


def test_time_ids_carry_the_real_size_and_the_crop(tmp_path):
    data = prepare_data(configs.load({"data": {"source": "folder", "path": str(mixed_folder(tmp_path)), **BUCKETS}}).data)
    by_name = {e.source.stem: (p, ids.tolist()) for e, p, ids in zip(data.examples, data.placements, data.time_ids)}
    # 96x64 (3:2) -> bucket 80x48 (5:3), resized to 80x53, cropped 2 rows from the top.
    assert by_name["img0"][0].bucket == (80, 48)
    assert by_name["img0"][1] == [64, 96, 2, 0, 48, 80]  # original (h, w), crop (top, left), target (h, w)
    assert by_name["img1"][1] == [96, 64, 0, 2, 80, 48]
    assert by_name["img2"][1] == [64, 64, 0, 0, 64, 64]
    assert {tuple(p.bucket) for p, _ in by_name.values()} == {(80, 48), (48, 80), (64, 64)}
    assert sorted(len(b) for b in data.by_bucket) == [4, 4, 4]


def test_without_buckets_a_folder_image_is_cropped_square_and_says_so(tmp_path):
    add(tmp_path / "1_x", "wide", (100, 50))
    data = prepare_data(configs.load({"data": {"source": "folder", "path": str(tmp_path), "resolution": 32}}).data)
    assert data.time_ids.tolist() == [[50, 100, 0, 16, 32, 32]]


def test_a_bucketed_run_on_mixed_sizes_finishes(base, tmp_path):
    events = []
    config = {
        "data": {"source": "folder", "path": str(mixed_folder(tmp_path / "data")), **BUCKETS, "shuffle_caption": True, "caption_dropout": 0.2},
        "training": {"max_steps": 2, "batch_size": 2, "cache_latents": "off"},
    }
    (tmp_path / "run").mkdir()
    train(config, tmp_path / "run", EventRecords(events.append), load_model=lambda *_: base)
    assert events[-1]["type"] == "finished", events[-1]
    assert [e["step"] for e in events if e["type"] == "step"] == [1, 2]
    # The adapter says what it was trained on, as sd-scripts writes it: 6 images x 2 repeats, in their buckets.
    with safe_open(tmp_path / "run" / "adapter.safetensors", "pt") as f:
        metadata = f.metadata()
    assert metadata["ss_num_train_images"] == "12" and metadata["ss_enable_bucket"] == "True"
    buckets = json.loads(metadata["ss_bucket_info"])["buckets"].values()
    assert sum(b["count"] for b in buckets) == 12 and len(buckets) > 1
