"""Optimizers: how gradients become weight updates. One row per schema name."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch

from trainer.config import Frozen
from trainer.registry import Registry


@dataclass(frozen=True)
class Optimizer:
    summary: str
    create: Callable[[list[torch.nn.Parameter], Frozen], torch.optim.Optimizer]


OPTIMIZERS: Registry[Optimizer] = Registry(
    "optimizer",
    {
        "adamw": Optimizer(
            summary="Adam with decoupled weight decay (torch.optim.AdamW).",
            create=lambda params, c: torch.optim.AdamW(params, lr=c.lr, weight_decay=c.weight_decay),
        ),
    },
)
