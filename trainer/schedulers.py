"""LR schedulers: a multiplier on optimizer.lr per step, from diffusers.optimization.

One row per schema name; `diffusers_name` is the schedule diffusers computes.
The schema's warmup applies to every schedule, so "constant" is diffusers'
constant_with_warmup (identical to its "constant" when warmup_steps is 0).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from diffusers.optimization import get_scheduler

from trainer.config import Frozen
from trainer.registry import Registry


@dataclass(frozen=True)
class Schedule:
    diffusers_name: str
    summary: str

    def create(self, optimizer: torch.optim.Optimizer, config: Frozen, total_steps: int) -> torch.optim.lr_scheduler.LRScheduler:
        return get_scheduler(self.diffusers_name, optimizer, num_warmup_steps=config.warmup_steps, num_training_steps=total_steps)


SCHEDULERS: Registry[Schedule] = Registry(
    "scheduler",
    {
        "constant": Schedule("constant_with_warmup", "Multiplier 1 after warmup."),
        "cosine": Schedule("cosine", "After warmup, half a cosine from 1 down to 0."),
    },
)
