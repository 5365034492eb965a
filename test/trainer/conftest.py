"""pytest setup for the trainer: the repo root on sys.path (so `import trainer` works), offline hub."""

import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import pytest  # noqa: E402
import torch  # noqa: E402


@pytest.fixture(scope="session")
def base():
    """shapes-xl, loaded once for the session (tests that train restore the UNet after)."""
    from trainer import models

    return models.load("shapes-xl", torch.device("cpu"))
