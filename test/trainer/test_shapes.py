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
