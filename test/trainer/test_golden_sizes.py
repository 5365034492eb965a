"""The size cell's data is current: layers.json and the golden adapter sizes still describe what the trainer builds.

Regenerate both with `python -m trainer.golden_sizes`. The TypeScript side
(test/core/size.test.ts) checks that the formulas reproduce the fixture.
"""

import json

import pytest

from trainer import golden_sizes

FIX = "regenerate with `.venv/bin/python -m trainer.golden_sizes`"


@pytest.fixture(scope="module")
def archs():
    return golden_sizes.architectures()


@pytest.fixture(scope="module")
def fixture():
    return json.loads(golden_sizes.FIXTURE.read_text())


def test_layer_shapes_are_current(archs):
    shipped = json.loads(golden_sizes.LAYERS.read_text())
    assert shipped == json.loads(golden_sizes.dump(golden_sizes.layers_file(archs))), f"core/src/size/layers.json is stale; {FIX}"


def test_every_method_and_architecture_is_in_the_fixture(fixture):
    covered = {(case["architecture"], case["method"]["name"]) for case in fixture["cases"]}
    expected = {(arch, name) for arch in ("sdxl", "sd15", "shapes-xl") for name in golden_sizes.METHODS.names()}
    assert expected <= covered


def test_shapes_xl_sizes_are_current_and_equal_the_trainers_count(archs, fixture):
    """Every shapes-xl case, rebuilt through METHODS[name].create(): the count train.py reports as trainable_params."""
    shipped = [c for c in fixture["cases"] if c["architecture"] == "shapes-xl"]
    fresh = []
    for method in golden_sizes.grid(archs["shapes-xl"]):
        counted = golden_sizes.count(archs["shapes-xl"], method)
        if counted is not None:  # None: the trainer refuses it here (a block size that does not fit a width)
            assert counted["trainable_params"] == counted["params"]
            fresh.append({"architecture": "shapes-xl", "method": method, **counted})
    assert len(fresh) >= len(golden_sizes.GRID) - 2
    assert fresh == shipped, FIX


@pytest.mark.parametrize("method", [{"name": "dora", "rank": 8}, {"name": "lokr", "rank": 4, "conv_rank": 4, "factor": 8}])
def test_an_sdxl_case_is_current(archs, fixture, method):
    case = next(c for c in fixture["cases"] if c["architecture"] == "sdxl" and c["method"] == method)
    assert {"architecture": "sdxl", "method": method, **golden_sizes.count(archs["sdxl"], method)} == case, FIX
