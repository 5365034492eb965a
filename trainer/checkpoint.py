"""Resumable state: everything a run needs to continue exactly where it stopped.

A state folder holds the adapter's weights, the optimizer's and the LR
scheduler's state, the gradient scaler, the random generator that draws noise
and timesteps, the global random states (the adapters' dropouts and DyLoRA's
rank draw from them), the step, and the config it was trained with. Batch order is a
pure function of (seed, epoch), so it needs no saving. Resuming on the same
machine reproduces the loss sequence of an uninterrupted run.
"""

from __future__ import annotations

import os
import random
from pathlib import Path

import torch

from trainer import config as configs

STATE_DIR = "state"
STATE_FILE = "state.pt"

# Fields that may differ between the saved run and the resuming one: where states go, and how fast the same steps run.
RESUME_FREE = {("training", "resume"), ("training", "save_state_every"), ("training", "torch_compile"), ("training", "dynamo_backend"), ("training", "dynamo_mode")}


def save(run_dir: Path, *, step: int, config: dict, modules: dict, generator: torch.Generator) -> Path:
    """Write run_dir/state/state.pt atomically (temp file + rename): a kill mid-save keeps the previous state."""
    folder = run_dir / STATE_DIR
    folder.mkdir(parents=True, exist_ok=True)
    payload = {
        "step": step,
        "config": config,
        "modules": {name: module.state_dict() for name, module in modules.items()},
        "generator": generator.get_state(),
        "global_rng": {"torch": torch.get_rng_state(), "python": random.getstate(), "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else []},
    }
    tmp = folder / f".{STATE_FILE}.tmp"
    torch.save(payload, tmp)
    os.replace(tmp, folder / STATE_FILE)
    return folder


def locate(resume: str, runs_root: Path) -> Path:
    """`training.resume` names a run id under runs/ or a state folder; the state file it means."""
    for candidate in (runs_root / resume / STATE_DIR, Path(resume), Path(resume) / STATE_DIR):
        if (candidate / STATE_FILE).is_file():
            return candidate / STATE_FILE
    raise FileNotFoundError(f"training.resume: no saved state for '{resume}' (looked for runs/{resume}/{STATE_DIR}/{STATE_FILE} and {resume}/{STATE_FILE})")


def load(file: Path, *, config: dict, modules: dict, generator: torch.Generator) -> int:
    """Restore every module and the generator from `file`; return the step it was saved at."""
    payload = torch.load(file, map_location="cpu", weights_only=False)
    differences = _differences(payload["config"], config, configs.load({}).to_dict())
    if differences:
        raise ValueError(f"training.resume: the config differs from the saved run's at {', '.join(differences)}; resume with the same settings")
    for name, module in modules.items():
        module.load_state_dict(payload["modules"][name])
    generator.set_state(payload["generator"])
    if "global_rng" in payload:  # states saved before it was kept resume as they always did
        torch.set_rng_state(payload["global_rng"]["torch"])
        random.setstate(payload["global_rng"]["python"])
        if payload["global_rng"]["cuda"] and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(payload["global_rng"]["cuda"])
    return payload["step"]


def _differences(saved: dict, current: dict, defaults: dict, path: tuple = ()) -> list[str]:
    """The dotted paths at which two configs differ. A field the saved run's version of tunebook did not have yet
    counts at its default: new fields default to what the code did before them."""
    out = []
    for key in sorted(set(saved) | set(current)):
        here = (*path, key)
        if here in RESUME_FREE:
            continue
        a, b = saved.get(key, defaults.get(key)), current.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            out += _differences(a, b, defaults.get(key, {}), here)
        elif a != b:
            out.append(".".join(here))
    return out
