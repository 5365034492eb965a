"""Concept sets on disk in kohya's layout, and the folder loader that reads them (and users' own folders)."""

import pytest
from PIL import Image

from trainer import config as configs
from trainer import image_folder, shapes
from trainer.datasets import DATASETS
from trainer.shapes.concepts import CONCEPTS, write_concept_set


def test_held_out_concepts_never_in_the_base_concept():
    captions = [c for _, c in CONCEPTS["base"].generate(200, seed=5, resolution=16)]
    assert not any("star" in c or "striped" in c for c in captions)
    assert any("outlined" in c for c in captions)


def test_concept_set_round_trips_through_the_folder_loader(tmp_path):
    folder = write_concept_set(tmp_path, "star", count=12, seed=3, resolution=32, repeats=2)
    assert folder.name == "2_star" and len(list(folder.glob("*.png"))) == 12 and len(list(folder.glob("*.txt"))) == 12
    examples = image_folder.scan(tmp_path)
    assert len(examples) == 24  # 12 images x 2 repeats
    assert all(e.size == (32, 32) and e.image().size == (32, 32) and " star " in e.caption for e in examples)
    written = [c for _, c in CONCEPTS["star"].generate(12, 3, 32)]
    assert [e.caption for e in examples[:12]] == written


def test_folder_source_through_the_config(tmp_path):
    write_concept_set(tmp_path, "striped", count=10, seed=0, resolution=32, repeats=1)
    data = configs.load({"data": {"source": "folder", "path": str(tmp_path), "resolution": 32}}).data
    assert len(DATASETS["folder"].load(data)) == 10


def test_caption_extension_and_real_size(tmp_path):
    folder = tmp_path / "3_mine"
    folder.mkdir()
    Image.new("RGB", (80, 40), (255, 0, 0)).save(folder / "a.jpg")
    (folder / "a.caption").write_text("a red thing\n")
    examples = image_folder.scan(tmp_path)
    assert len(examples) == 3 and examples[0].caption == "a red thing" and examples[0].size == (80, 40)


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda root: (root / "10_x").mkdir() or Image.new("RGB", (8, 8)).save(root / "10_x" / "a.png"), r"10_x/a.png: no caption file \(a.txt or a.caption\)"),
        (lambda root: (root / "star").mkdir(), r"star: a concept folder's name is <repeats>_<name>"),
        (lambda root: (root / "5_x").mkdir() or (root / "5_x" / "b.png").write_text("nope"), r"5_x/b.png: not a readable image"),
        (lambda root: (root / "5_x").mkdir(), r"5_x: no images"),
        (lambda root: None, r"data.path: .* has no concept folders"),
    ],
)
def test_bad_folders_name_the_bad_file(tmp_path, make, message):
    make(tmp_path)
    with pytest.raises(image_folder.DatasetError, match=message):
        image_folder.scan(tmp_path)


def test_missing_path_names_the_field():
    with pytest.raises(image_folder.DatasetError, match=r"data.path: '.*' is not a folder"):
        image_folder.scan("/no/such/folder")
