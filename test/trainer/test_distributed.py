"""Two processes under `accelerate launch` (gloo on CPU) train as one process with twice the batch."""

import json
import os
import socket
import subprocess
import sys

import pytest
import torch
from safetensors.torch import load_file

from trainer.distributed import Processes
from trainer.events import EventRecords
from trainer.train import train

from conftest import REPO

# 8 images, 2 per process, 2 epochs: 4 optimizer steps, a warmup and a decay to compare LRs over.
CONFIG = {
    "data": {"images": 8},
    "training": {"epochs": 2, "batch_size": 2, "seed": 3},
    "optimizer": {"lr": 0.002},
    "scheduler": {"name": "cosine", "warmup_steps": 2},
}


def with_batch(batch_size: int) -> dict:
    return {**CONFIG, "training": {**CONFIG["training"], "batch_size": batch_size}}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def events_of(run_dir) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "events.jsonl").read_text().splitlines()]


def train_here(config: dict, run_dir, base) -> list[dict]:
    events = []
    train(config, run_dir, EventRecords(events.append), load_model=lambda *_: base)
    assert events[-1]["type"] == "finished", events[-1]
    return events


@pytest.fixture(scope="module")
def two_processes(tmp_path_factory):
    """The headless CLI under `accelerate launch`, 2 processes, batch 2 each: its run folder."""
    folder = tmp_path_factory.mktemp("two")
    (folder / "config.yaml").write_text(json.dumps(CONFIG))  # JSON is YAML
    launch = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2", "--num_machines", "1"]
    launch += ["--mixed_precision", "no", "--dynamo_backend", "no", "--main_process_port", str(free_port())]
    done = subprocess.run(
        [*launch, "-m", "trainer", "train", str(folder / "config.yaml"), "--run-dir", str(folder / "run")],
        cwd=REPO,
        env={**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"},
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return folder / "run"


def test_only_the_main_process_writes(two_processes):
    events = events_of(two_processes)
    assert [e["type"] for e in events].count("started") == 1
    assert events[-1]["type"] == "finished"
    assert sorted(p.name for p in two_processes.iterdir()) == ["adapter.safetensors", "config.json", "events.jsonl"]


def test_two_processes_train_as_one_with_twice_the_batch(two_processes, base, tmp_path):
    one = train_here(with_batch(4), tmp_path, base)
    two = events_of(two_processes)
    steps_one, steps_two = [e for e in one if e["type"] == "step"], [e for e in two if e["type"] == "step"]
    # The schedule counts optimizer steps: same total, same warmup, the same LR at every step.
    assert [e["total"] for e in steps_two] == [e["total"] for e in steps_one] == [4] * 4
    assert [e["lr"] for e in steps_two] == [e["lr"] for e in steps_one]
    assert [e["loss"] for e in steps_two] == pytest.approx([e["loss"] for e in steps_one], rel=1e-5)
    assert steps_two[0]["images_per_second"] > 0
    # Same images, noise and timesteps in each process's share; the mean of two batch-2 gradients is
    # the batch-4 gradient up to float32 rounding (summation order, batch-size-dependent CPU kernels).
    # Adam divides by the gradient's own size, so its early updates pass such rounding on: measured
    # 2.2e-6 at most after 4 steps at lr 0.002, against 1e-2 for a run that does not average (below).
    adapter_two, adapter_one = load_file(two_processes / "adapter.safetensors"), load_file(tmp_path / "adapter.safetensors")
    torch.testing.assert_close(adapter_two, adapter_one, rtol=0, atol=1e-5)


def test_without_averaging_the_result_would_differ(two_processes, base, tmp_path):
    """The tolerance above is tight: one process with the per-process batch ends far outside it."""
    train_here(with_batch(2), tmp_path, base)
    adapter_two, alone = load_file(two_processes / "adapter.safetensors"), load_file(tmp_path / "adapter.safetensors")
    assert max((adapter_two[k] - alone[k]).abs().max().item() for k in alone) > 1e-3


def test_a_process_takes_its_contiguous_share():
    batch = torch.arange(8)
    assert [Processes(rank, 2).share(batch).tolist() for rank in range(2)] == [[0, 1, 2, 3], [4, 5, 6, 7]]
    assert torch.equal(Processes().share(batch), batch)
