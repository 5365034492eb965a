"""Optimizers: how gradients become weight updates. One row per schema name.

Every row builds its optimizer from the method's param groups
([{"name": "unet", "params": [...], "lr": 1e-4}, ...]; a group's "lr" overrides
optimizer.lr) plus the section's fields, plus `optimizer.args` passed through
like sd-scripts' optimizer_args. Classes are imported when a row is used:
bitsandbytes alone takes seconds to import.
"""

from __future__ import annotations

import importlib
import inspect
import math
from dataclasses import dataclass
from typing import Callable

import torch

from trainer.config import ConfigError, Frozen
from trainer.registry import Registry

ParamGroups = list[dict]


def library(module: str, name: str) -> Callable[[], type[torch.optim.Optimizer]]:
    return lambda: getattr(importlib.import_module(module), name)


def bitsandbytes(name: str, row: str, instead: str) -> Callable[[], type[torch.optim.Optimizer]]:
    """An 8-bit optimizer of bitsandbytes; where it cannot load, an error that names the 32-bit row to use `instead`."""

    def load() -> type[torch.optim.Optimizer]:
        try:
            import bitsandbytes
        except Exception as error:  # not installed, or its native library does not load on this machine
            raise ConfigError(
                f"optimizer.name: {row} needs bitsandbytes, which cannot run here ({type(error).__name__}: {error}); "
                f"choose {instead} instead (tunebook never swaps optimizers silently)"
            ) from error
        return getattr(bitsandbytes.optim, name)

    return load


def nominal(optimizer: torch.optim.Optimizer) -> None:
    """The LR is each group's "lr": nothing else to report."""
    return None


def d_times_lr(optimizer: torch.optim.Optimizer) -> list[float]:
    """Prodigy and D-Adaptation scale each group's lr by their distance estimate d."""
    return [group["d"] * group["lr"] for group in optimizer.param_groups]


def adafactor_step_size(optimizer: torch.optim.Optimizer) -> list[float] | None:
    """With relative_step, the step size Adafactor computed for each group's first parameter (as transformers' AdafactorSchedule reads it)."""
    if not optimizer.param_groups[0]["relative_step"]:
        return None
    return [
        # float(): with scale_parameter, _get_lr returns a tensor, which no event can carry.
        float(optimizer._get_lr(group, optimizer.state[group["params"][0]])) if optimizer.state[group["params"][0]] else math.nan
        for group in optimizer.param_groups
    ]


def schedulefree_lr(optimizer: torch.optim.Optimizer) -> list[float]:
    """Schedule-free AdamW's LR after its internal warmup, as it logs it."""
    return [group["scheduled_lr"] for group in optimizer.param_groups]


def nothing(optimizer: torch.optim.Optimizer) -> None: ...


@dataclass(frozen=True)
class OptimizerKind:
    summary: str
    load: Callable[[], type[torch.optim.Optimizer]]
    # The constructor's keyword arguments from the section's fields.
    options: Callable[[Frozen], dict]
    # After optimizer.step(): the LR each group's update really used, where the optimizer chose it (None: the group's "lr").
    effective_lr: Callable[[torch.optim.Optimizer], list[float] | None] = nominal
    # Called before training steps and before sampling or saving (schedule-free keeps two sets of weights).
    train_mode: Callable[[torch.optim.Optimizer], None] = nothing
    eval_mode: Callable[[torch.optim.Optimizer], None] = nothing
    # Why, for this section, the LR scheduler must stay constant (None: any schedule).
    fixed_schedule: Callable[[Frozen], str | None] = lambda c: None

    def create(self, param_groups: ParamGroups, config: Frozen) -> torch.optim.Optimizer:
        cls = self.load()
        options = self.options(config)
        return cls(with_lrs(param_groups, config.lr), **options, **extra_args(cls, config, options))

    def check_schedule(self, config: Frozen, scheduler: Frozen) -> None:
        """Refuse a schedule this optimizer would ignore or fight."""
        reason = self.fixed_schedule(config)
        if reason and scheduler.name != "constant":
            raise ConfigError(f"scheduler.name: '{scheduler.name}' with optimizer '{config.name}': {reason}; use scheduler constant")
        if reason and scheduler.warmup_steps:
            raise ConfigError(f"scheduler.warmup_steps: must be 0 with optimizer '{config.name}': {reason}")


def with_lrs(param_groups: ParamGroups | list[torch.nn.Parameter], lr: float) -> ParamGroups:
    """Every group states its lr, its own or optimizer.lr: schedulers scale it even where the constructor gets lr=None (Adafactor).

    A bare list of parameters, torch's other form, is one group.
    """
    groups = param_groups if isinstance(param_groups[0], dict) else [{"params": list(param_groups)}]
    return [{"lr": lr, **group} for group in groups]


def extra_args(cls: type, config: Frozen, options: dict) -> dict:
    """optimizer.args, checked against the constructor (some accept **kwargs and would swallow a typo)."""
    accepted = [n for n, p in inspect.signature(cls).parameters.items() if p.kind is p.POSITIONAL_OR_KEYWORD or p.kind is p.KEYWORD_ONLY][1:]
    args = config.args.to_dict()
    for key in args:
        if key in options:
            raise ConfigError(f"optimizer.args.{key}: set by the optimizer section (optimizer.{key} or its default); remove it from args")
        if key not in accepted:
            raise ConfigError(f"optimizer.args.{key}: {cls.__name__} has no argument '{key}'; it accepts {', '.join(a for a in accepted if a not in options)}")
    # YAML lists become tuples, as sd-scripts' literal_eval gives them (betas, eps pairs).
    return {key: tuple(value) if isinstance(value, list) else value for key, value in args.items()}


def lr_and_decay(c: Frozen) -> dict:
    return {"lr": c.lr, "weight_decay": c.weight_decay}


OPTIMIZERS: Registry[OptimizerKind] = Registry(
    "optimizer",
    {
        "adamw": OptimizerKind(
            summary="Adam with decoupled weight decay (torch.optim.AdamW).",
            load=library("torch.optim", "AdamW"),
            options=lr_and_decay,
        ),
        "adamw8bit": OptimizerKind(
            summary="bitsandbytes' AdamW8bit: 8-bit moment buffers (runs on CPU and CUDA with bitsandbytes 0.50.2).",
            load=bitsandbytes("AdamW8bit", "adamw8bit", instead="adamw"),
            options=lr_and_decay,
        ),
        "lion": OptimizerKind(
            summary="Lion (pytorch-optimizer): sign of a momentum, every weight moves by lr.",
            load=library("pytorch_optimizer", "Lion"),
            options=lr_and_decay,
        ),
        "lion8bit": OptimizerKind(
            summary="bitsandbytes' Lion8bit: Lion with its momentum stored in 8 bits (runs on CPU and CUDA with bitsandbytes 0.50.2).",
            load=bitsandbytes("Lion8bit", "lion8bit", instead="lion"),
            options=lr_and_decay,
        ),
        "sgd_nesterov": OptimizerKind(
            summary="torch.optim.SGD with Nesterov momentum.",
            load=library("torch.optim", "SGD"),
            options=lambda c: {**lr_and_decay(c), "momentum": c.momentum, "nesterov": True},
        ),
        "prodigy": OptimizerKind(
            summary="Prodigy (prodigyopt): Adam with an estimated step size d; applies d * lr.",
            load=library("prodigyopt", "Prodigy"),
            options=lambda c: {
                **lr_and_decay(c),
                "d_coef": c.d_coef,
                "use_bias_correction": c.use_bias_correction,
                "safeguard_warmup": c.safeguard_warmup,
            },
            effective_lr=d_times_lr,
        ),
        "adafactor": OptimizerKind(
            summary="Adafactor (transformers): factored second moments; with relative_step it sets its own step size.",
            load=library("transformers.optimization", "Adafactor"),
            # With relative_step torch must see lr=None; groups' "lr" stay for the scheduler and Adafactor ignores them.
            options=lambda c: {
                "lr": None if c.relative_step else c.lr,
                "weight_decay": c.weight_decay,
                "relative_step": c.relative_step,
                "scale_parameter": c.scale_parameter,
                "warmup_init": c.warmup_init,
            },
            effective_lr=adafactor_step_size,
            fixed_schedule=lambda c: "with relative_step Adafactor computes its own step size and ignores the LR schedule" if c.relative_step else None,
        ),
        "dadapt_adam": OptimizerKind(
            summary="D-Adaptation's Adam (dadaptation): estimated step size d; applies d * lr.",
            load=library("dadaptation", "DAdaptAdam"),
            # decouple: AdamW-style weight decay, as sd-scripts' guides set it.
            options=lambda c: {**lr_and_decay(c), "decouple": True},
            effective_lr=d_times_lr,
        ),
        "came": OptimizerKind(
            summary="CAME (came-pytorch): confidence-guided, memory-efficient Adam.",
            load=library("came_pytorch", "CAME"),
            options=lr_and_decay,
        ),
        "schedulefree_adamw": OptimizerKind(
            summary="Schedule-free AdamW (schedulefree): iterate averaging instead of a schedule; warmup inside.",
            load=library("schedulefree", "AdamWScheduleFree"),
            options=lambda c: {**lr_and_decay(c), "warmup_steps": c.warmup_steps},
            effective_lr=schedulefree_lr,
            train_mode=lambda opt: opt.train(),
            eval_mode=lambda opt: opt.eval(),
            fixed_schedule=lambda c: "schedule-free AdamW replaces the LR schedule (its warmup is optimizer.warmup_steps)",
        ),
    },
)
