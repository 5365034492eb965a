"""LR schedulers: a multiplier on each param group's lr, per optimizer step. One row per schema name.

Every curve is a library's (diffusers, transformers, pytorch-optimizer); core/src/schedules/
computes the same ones for previews, and test/fixtures/lr-schedules.json
(`python -m trainer.golden_schedules`) holds both to the LRs these rows apply.
A step is an optimizer step: with gradient accumulation the scheduler still
steps once per optimizer step, as in sd-scripts. Optimizer step k (1-based)
runs at the schedule's value for k - 1.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import torch
from diffusers import optimization as diffusers_schedules
from pytorch_optimizer.lr_scheduler.cosine_anealing import CosineAnnealingWarmupRestarts
from pytorch_optimizer.lr_scheduler.rex import REXScheduler
from torch.optim import Optimizer
from torch.optim.lr_scheduler import LRScheduler
from transformers import optimization as transformers_schedules

from trainer.config import ConfigError, Frozen
from trainer.registry import Registry


def steps_or_ratio(value: float, total: int) -> int:
    """A step count, or a ratio in (0, 1) of the run read as sd-scripts reads lr_warmup_steps: int(ratio * total)."""
    return int(value * total) if value < 1 else int(value)


class OnUnitLR(LRScheduler):
    """A pytorch-optimizer schedule used as a multiplier.

    Those schedules write one absolute LR into every group; run on a stand-in
    optimizer at LR 1, their value multiplies each group's own lr instead, so
    the UNet and text-encoder LRs keep their ratio.
    """

    def __init__(self, optimizer: Optimizer, make: Callable[[Optimizer], LRScheduler]):
        self.unit = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
        self.inner = make(self.unit)
        # They compute step 0's value, then reset the LR to min_lr (init_lr); step 0 runs at their own value.
        first = self.inner.get_lr()  # REX returns a float, the others a list
        self.unit.param_groups[0]["lr"] = first[0] if isinstance(first, list) else first
        super().__init__(optimizer)

    def get_lr(self) -> list[float]:
        return [base * self.unit.param_groups[0]["lr"] for base in self.base_lrs]

    def step(self, epoch=None) -> None:
        if self.last_epoch >= 0:  # LRScheduler's own first call sets step 0
            self.inner.step()
        super().step()

    def state_dict(self) -> dict:
        outer = {k: v for k, v in self.__dict__.items() if k not in ("optimizer", "unit", "inner")}
        return {**outer, "unit_lr": self.unit.param_groups[0]["lr"], "inner": self.inner.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        state = dict(state)
        self.inner.load_state_dict(state.pop("inner"))
        self.unit.param_groups[0]["lr"] = state.pop("unit_lr")
        self.__dict__.update(state)


Build = Callable[[Optimizer, Frozen, int, int], LRScheduler]  # (optimizer, section, warmup steps, total steps)


@dataclass(frozen=True)
class Schedule:
    summary: str
    build: Build
    has_warmup: bool = True

    def create(self, optimizer: Optimizer, config: Frozen, total_steps: int) -> LRScheduler:
        warmup = steps_or_ratio(config.warmup_steps, total_steps)
        if warmup and not self.has_warmup:
            hint = "; use constant_with_warmup" if config.name == "constant" else ""
            raise ConfigError(f"scheduler.warmup_steps: '{config.name}' has no warmup phase, so it must be 0{hint}")
        return self.build(optimizer, config, warmup, total_steps)


def polynomial(optimizer: Optimizer, c: Frozen, warmup: int, total: int) -> LRScheduler:
    if c.lr_end >= optimizer.defaults["lr"]:
        raise ConfigError(f"scheduler.lr_end: {c.lr_end} must be below optimizer.lr ({optimizer.defaults['lr']}), the LR it decays from")
    return diffusers_schedules.get_polynomial_decay_schedule_with_warmup(optimizer, warmup, total, lr_end=c.lr_end, power=c.power)


def warmup_stable_decay(optimizer: Optimizer, c: Frozen, warmup: int, total: int) -> LRScheduler:
    decay = steps_or_ratio(c.decay_steps, total)
    if warmup + decay > total:
        raise ConfigError(f"scheduler.decay_steps: warmup ({warmup}) plus decay ({decay}) exceed the run's {total} steps")
    return transformers_schedules.get_wsd_schedule(
        optimizer, warmup, num_decay_steps=decay, num_training_steps=total, decay_type=c.decay_type, min_lr_ratio=c.min_lr_ratio
    )


def cosine_with_restarts_decay(optimizer: Optimizer, c: Frozen, warmup: int, total: int) -> LRScheduler:
    cycle = math.ceil(total / c.num_cycles)
    if warmup >= cycle:
        raise ConfigError(f"scheduler.warmup_steps: each cycle warms up, so warmup ({warmup}) must be shorter than a cycle ({cycle} steps)")
    return OnUnitLR(
        optimizer,
        lambda unit: CosineAnnealingWarmupRestarts(unit, first_cycle_steps=cycle, max_lr=1.0, min_lr=c.min_lr_ratio, warmup_steps=warmup, gamma=c.gamma),
    )


SCHEDULERS: Registry[Schedule] = Registry(
    "scheduler",
    {
        "constant": Schedule(
            "Multiplier 1 (diffusers' constant).",
            lambda opt, c, warmup, total: diffusers_schedules.get_constant_schedule(opt),
            has_warmup=False,
        ),
        "constant_with_warmup": Schedule(
            "Linear warmup, then 1 (diffusers).",
            lambda opt, c, warmup, total: diffusers_schedules.get_constant_schedule_with_warmup(opt, warmup),
        ),
        "linear": Schedule(
            "Linear warmup, then a line down to 0 (diffusers).",
            lambda opt, c, warmup, total: diffusers_schedules.get_linear_schedule_with_warmup(opt, warmup, total),
        ),
        "cosine": Schedule(
            "Linear warmup, then half a cosine down to 0 (diffusers).",
            lambda opt, c, warmup, total: diffusers_schedules.get_cosine_schedule_with_warmup(opt, warmup, total),
        ),
        "cosine_with_restarts": Schedule(
            "Linear warmup, then num_cycles cosines with hard restarts (diffusers).",
            lambda opt, c, warmup, total: diffusers_schedules.get_cosine_with_hard_restarts_schedule_with_warmup(opt, warmup, total, num_cycles=c.num_cycles),
        ),
        "polynomial": Schedule("Linear warmup, then (1 - progress)^power down to lr_end (diffusers).", polynomial),
        "piecewise_constant": Schedule(
            "Fixed multipliers between the steps of scheduler.rules (diffusers).",
            lambda opt, c, warmup, total: diffusers_schedules.get_piecewise_constant_schedule(opt, c.rules),
            has_warmup=False,
        ),
        "cosine_with_min_lr": Schedule(
            "Linear warmup, then half a cosine down to min_lr_ratio (transformers).",
            lambda opt, c, warmup, total: transformers_schedules.get_cosine_with_min_lr_schedule_with_warmup(opt, warmup, total, min_lr_rate=c.min_lr_ratio),
        ),
        "warmup_stable_decay": Schedule("Warmup, flat, then a decay over decay_steps to min_lr_ratio (transformers).", warmup_stable_decay),
        "inverse_sqrt": Schedule(
            "Linear warmup, then 1/sqrt(step / timescale) (transformers).",
            lambda opt, c, warmup, total: transformers_schedules.get_inverse_sqrt_schedule(opt, warmup, timescale=c.timescale),
        ),
        "rex": Schedule(
            "REX's rational decay from 1 to min_lr_ratio (pytorch-optimizer).",
            lambda opt, c, warmup, total: OnUnitLR(opt, lambda unit: REXScheduler(unit, total_steps=total, max_lr=1.0, min_lr=c.min_lr_ratio)),
            has_warmup=False,
        ),
        "cosine_with_restarts_decay": Schedule(
            "num_cycles cycles of warmup and cosine, each peak gamma times the last (pytorch-optimizer).", cosine_with_restarts_decay
        ),
    },
)
