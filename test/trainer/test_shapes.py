from collections import Counter

import numpy as np

from trainer import shapes


def test_same_seed_same_dataset():
    a, b = shapes.generate(6, seed=3, resolution=32), shapes.generate(6, seed=3, resolution=32)
    assert [c for _, c in a] == [c for _, c in b]
    assert all(np.array_equal(np.asarray(x), np.asarray(y)) for (x, _), (y, _) in zip(a, b))


def test_other_seed_other_dataset():
    a, b = shapes.generate(6, seed=3, resolution=32), shapes.generate(6, seed=4, resolution=32)
    assert [c for _, c in a] != [c for _, c in b]


def test_images_are_rgb_at_the_resolution():
    image, caption = shapes.generate(1, seed=0, resolution=48)[0]
    assert image.mode == "RGB" and image.size == (48, 48)
    assert caption.startswith("a ") and caption.endswith(" background")


def test_captions_use_only_the_vocabulary_and_held_out_concepts_only_on_request():
    vocabulary = set(shapes.vocabulary())
    base = shapes.generate(50, seed=1, resolution=16)
    assert all(set(caption.split()) <= vocabulary for _, caption in base)
    assert not any("star" in c or "striped" in c for _, c in base)
    held_out = shapes.generate(3, seed=1, resolution=16, shapes=("star",), textures=("striped",))
    assert all("striped" in c and "star" in c and set(c.split()) <= vocabulary for _, c in held_out)


def spread(scenes, attribute: str) -> tuple[int, int]:
    """How many values of the attribute come up, and how far apart the most and least frequent are."""
    counts = Counter(getattr(scene, attribute) for scene in scenes)
    return len(counts), max(counts.values()) - min(counts.values())


def test_an_even_draw_deals_every_value_as_often_as_the_count_allows():
    even = shapes.scenes(20, 0, ("star",), ("plain",), draw="even")
    for attribute, values in (("color", shapes.COLORS), ("size", shapes.SIZES), ("position", shapes.POSITIONS), ("background", shapes.BACKGROUNDS)):
        assert spread(even, attribute) == (len(values), 0 if 20 % len(values) == 0 else 1), attribute
    assert spread(shapes.scenes(30, 2, draw="even"), "shape") == (5, 0)
    assert even == shapes.scenes(20, 0, ("star",), ("plain",), draw="even") != shapes.scenes(20, 1, ("star",), ("plain",), draw="even")
    # the skew an even draw removes: seed 0's 20 random stars hold eight red ones and no yellow
    assert spread(shapes.scenes(20, 0, ("star",), ("plain",)), "color") == (5, 6)


def test_data_draw_reaches_the_dataset_and_its_regularization_images():
    from trainer import config as configs, datasets

    train, reg = datasets.load(configs.load({"data": {"concept": "star", "images": 12, "reg_images": 12, "draw": "even", "resolution": 16}}).data)
    colors = lambda examples: Counter(next(word for word in e.caption.split() if word in shapes.COLORS) for e in examples)
    assert set(colors(train).values()) == {2} and set(colors(reg).values()) == {2}
