"""The headless CLI: `python -m trainer train config.yaml`, reading YAML as the editor does."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from trainer.config import ConfigError
from trainer.headless import read_yaml

REPO = Path(__file__).resolve().parents[2]


def test_yaml_is_read_as_yaml_1_2_like_the_editor():
    # YAML 1.1 (PyYAML) reads an unquoted no/off/yes as booleans; the schema's mixed_precision: no is a string.
    assert read_yaml("training:\n  mixed_precision: no\n  cache_latents: off\n") == {"training": {"mixed_precision": "no", "cache_latents": "off"}}
    assert read_yaml("") == {}


@pytest.mark.parametrize(
    "source, message",
    [("method:\n  rank: [8\n", r"^line \d+: not valid YAML"), ("- a list\n", "not a mapping of sections")],
)
def test_bad_yaml_is_named(source, message):
    with pytest.raises(ConfigError, match=message):
        read_yaml(source)


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "trainer", "train", *args], cwd=REPO, capture_output=True, text=True, timeout=300)


def test_a_run_from_the_shell_writes_its_events_and_adapter(tmp_path):
    config = tmp_path / "cfg.yaml"
    config.write_text("data:\n  images: 2\ntraining:\n  max_steps: 1\n  batch_size: 2\n  mixed_precision: no\n")
    done = cli(str(config), "--run-dir", str(tmp_path / "run"))
    assert done.returncode == 0, done.stderr[-2000:]
    events = [json.loads(line) for line in (tmp_path / "run" / "events.jsonl").read_text().splitlines()]
    assert events[-1]["type"] == "finished"
    assert (tmp_path / "run" / "adapter.safetensors").is_file()


def test_a_bad_config_exits_2_naming_the_file_and_field(tmp_path):
    config = tmp_path / "cfg.yaml"
    config.write_text("method:\n  rank: -3\n")
    done = cli(str(config), "--run-dir", str(tmp_path / "run"))
    assert done.returncode == 2
    assert str(config) in done.stderr and "method.rank" in done.stderr
    assert not (tmp_path / "run").exists()
