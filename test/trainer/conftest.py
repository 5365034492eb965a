"""pytest setup for the trainer: the repo root on sys.path (so `import trainer` works), offline hub."""

import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
# One thread per process (this one and the worker it spawns): the tiny models
# gain nothing from a second core, and when other processes busy the machine,
# OpenMP threads spin-waiting for each other made test_train.py 2.4x slower
# (45 s vs 19 s, measured with two CPU burners on the 2-core dev box).
os.environ.setdefault("OMP_NUM_THREADS", "1")

import pytest  # noqa: E402
import torch  # noqa: E402


@pytest.fixture(scope="session")
def base():
    """shapes-xl, loaded once for the session (tests that train restore the UNet after)."""
    from trainer import models

    return models.load("shapes-xl", torch.device("cpu"))
