"""Every optimizer row: trains through train(), reports its effective LR, and refuses bad settings by field name."""

import math
import sys

import pytest
import torch

from trainer import config as configs
from trainer.events import EventRecords
from trainer.optimizers import OPTIMIZERS
from trainer.train import train

ADAPTIVE = ["prodigy", "adafactor", "dadapt_adam", "schedulefree_adamw"]


def section(**fields) -> configs.Frozen:
    return configs.load({"optimizer": fields}).optimizer


def groups(*lrs: float) -> list[dict]:
    """Param groups as the method hands them over; each weight is large enough for bitsandbytes' 8-bit state."""
    return [{"name": f"group{i}", "params": [torch.nn.Parameter(torch.linspace(-1, 1, 4096))], "lr": lr} for i, lr in enumerate(lrs)]


def run_steps(optimizer: torch.optim.Optimizer, steps: int) -> None:
    for _ in range(steps):
        optimizer.zero_grad()
        sum(((p - 0.5) ** 2).sum() for g in optimizer.param_groups for p in g["params"]).backward()
        optimizer.step()


@pytest.mark.parametrize("name", OPTIMIZERS.names())
def test_trains_a_few_steps_through_train(name, base, tmp_path):
    events = []
    config = {"optimizer": {"name": name}, "data": {"images": 2}, "training": {"max_steps": 3, "batch_size": 2}}
    before = {k: v.clone() for k, v in base.unet.state_dict().items()}
    train(config, tmp_path, EventRecords(events.append), load_model=lambda *_: base)
    assert events[-1]["type"] == "finished", events[-1]
    steps = [e for e in events if e["type"] == "step"]
    assert len(steps) == 3
    assert all(math.isfinite(e["loss"]) and e["lr"] > 0 for e in steps)
    assert (tmp_path / "adapter.safetensors").exists()
    torch.testing.assert_close(base.unet.state_dict(), before)  # the adapter came off again


@pytest.mark.parametrize("name", ADAPTIVE)
def test_adaptive_optimizers_report_the_step_size_they_chose(name):
    kind = OPTIMIZERS[name]
    optimizer = kind.create(groups(1e-3), section(name=name, warmup_steps=10))
    kind.train_mode(optimizer)
    run_steps(optimizer, 4)
    effective = kind.effective_lr(optimizer)
    assert len(effective) == 1 and math.isfinite(effective[0]) and effective[0] > 0
    assert effective[0] != pytest.approx(optimizer.param_groups[0]["lr"], rel=1e-3)


@pytest.mark.parametrize("name", sorted(set(OPTIMIZERS.names()) - set(ADAPTIVE)))
def test_other_optimizers_use_the_groups_lr(name):
    kind = OPTIMIZERS[name]
    optimizer = kind.create(groups(1e-3), section(name=name))
    run_steps(optimizer, 1)
    assert kind.effective_lr(optimizer) is None


def test_a_groups_lr_overrides_optimizer_lr():
    optimizer = OPTIMIZERS["adamw"].create(groups(0.5, 0.05), section(lr=1e-3))
    assert [(g["name"], g["lr"]) for g in optimizer.param_groups] == [("group0", 0.5), ("group1", 0.05)]


def test_section_fields_reach_the_constructor():
    optimizer = OPTIMIZERS["prodigy"].create(groups(1.0), section(name="prodigy", d_coef=0.5, use_bias_correction=True, safeguard_warmup=True))
    group = optimizer.param_groups[0]
    assert (group["d_coef"], group["use_bias_correction"], group["safeguard_warmup"]) == (0.5, True, True)
    assert OPTIMIZERS["sgd_nesterov"].create(groups(0.1), section(name="sgd_nesterov")).param_groups[0]["nesterov"] is True


def test_adafactor_with_relative_step_gives_torch_no_lr():
    optimizer = OPTIMIZERS["adafactor"].create(groups(1e-3), section(name="adafactor"))
    assert optimizer.defaults["lr"] is None
    fixed = OPTIMIZERS["adafactor"].create(groups(1e-3), section(name="adafactor", lr=1e-4, relative_step=False, scale_parameter=False))
    assert fixed.defaults["lr"] == 1e-4
    run_steps(fixed, 1)
    assert OPTIMIZERS["adafactor"].effective_lr(fixed) is None


def test_args_pass_through_like_optimizer_args():
    optimizer = OPTIMIZERS["adamw"].create(groups(1e-3), section(args={"betas": [0.8, 0.95], "eps": 1e-6}))
    assert optimizer.param_groups[0]["betas"] == (0.8, 0.95) and optimizer.param_groups[0]["eps"] == 1e-6


@pytest.mark.parametrize(
    "name, args, message",
    [
        ("adamw", {"beta": 0.9}, r"optimizer\.args\.beta: AdamW has no argument 'beta'; it accepts .*betas"),
        ("lion", {"betaz": [0.9, 0.99]}, r"optimizer\.args\.betaz: Lion has no argument"),  # Lion takes **kwargs and would swallow it
        ("prodigy", {"d_coef": 2}, r"optimizer\.args\.d_coef: set by the optimizer section"),
        ("adamw", {"lr": 1}, r"optimizer\.args\.lr: set by the optimizer section"),
    ],
)
def test_unknown_or_duplicate_args_name_the_key(name, args, message):
    with pytest.raises(configs.ConfigError, match=message):
        OPTIMIZERS[name].create(groups(1e-3), section(name=name, args=args))


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"lr": -1e-4}, r"^optimizer\.lr: "),
        ({"name": "adam"}, r"^optimizer\.name: 'adam' is not one of"),
        ({"d_coef": 0}, r"^optimizer\.d_coef: "),
        ({"args": []}, r"^optimizer\.args: "),
    ],
)
def test_bad_values_name_the_field(fields, message):
    with pytest.raises(configs.ConfigError, match=message):
        section(**fields)


EIGHT_BIT = {"adamw8bit": ("AdamW8bit", "adamw"), "lion8bit": ("Lion8bit", "lion")}


@pytest.mark.parametrize("name", EIGHT_BIT)
def test_8bit_optimizers_run_on_cpu_with_8bit_state(name):
    # bitsandbytes 0.50.2 has CPU kernels: the real 8-bit optimizer runs here, no stand-in.
    import bitsandbytes

    optimizer = OPTIMIZERS[name].create(groups(1e-3), section(name=name))
    assert isinstance(optimizer, getattr(bitsandbytes.optim, EIGHT_BIT[name][0]))
    (weight,) = optimizer.param_groups[0]["params"]
    before = weight.detach().clone()
    run_steps(optimizer, 2)
    assert optimizer.state[weight]["state1"].dtype == torch.uint8
    assert not torch.equal(weight, before)


@pytest.mark.parametrize("name", EIGHT_BIT)
def test_8bit_optimizers_without_bitsandbytes_are_an_error_not_a_substitute(name, monkeypatch):
    monkeypatch.setitem(sys.modules, "bitsandbytes", None)  # import fails, as where its native library cannot load
    instead = EIGHT_BIT[name][1]
    with pytest.raises(configs.ConfigError, match=rf"^optimizer\.name: {name} needs bitsandbytes, which cannot run here \(\w*Error: .*choose {instead} instead"):
        OPTIMIZERS[name].create(groups(1e-3), section(name=name))


@pytest.mark.parametrize(
    "optimizer, scheduler, message",
    [
        ({"name": "schedulefree_adamw"}, {"name": "cosine"}, r"^scheduler\.name: 'cosine' with optimizer 'schedulefree_adamw'"),
        ({"name": "schedulefree_adamw"}, {"name": "constant_with_warmup", "warmup_steps": 5}, r"^scheduler\.name: "),
        ({"name": "adafactor"}, {"name": "linear"}, r"^scheduler\.name: 'linear' with optimizer 'adafactor': with relative_step"),
    ],
)
def test_optimizers_that_schedule_themselves_refuse_a_schedule(optimizer, scheduler, message):
    cfg = configs.load({"optimizer": optimizer, "scheduler": scheduler})
    with pytest.raises(configs.ConfigError, match=message):
        OPTIMIZERS[cfg.optimizer.name].check_schedule(cfg.optimizer, cfg.scheduler)


def test_adafactor_with_a_fixed_lr_accepts_a_schedule():
    cfg = configs.load({"optimizer": {"name": "adafactor", "relative_step": False}, "scheduler": {"name": "cosine", "warmup_steps": 0.1}})
    OPTIMIZERS["adafactor"].check_schedule(cfg.optimizer, cfg.scheduler)


def test_schedulefree_switches_between_training_and_averaged_weights():
    kind = OPTIMIZERS["schedulefree_adamw"]
    optimizer = kind.create(groups(1e-2), section(name="schedulefree_adamw"))
    kind.train_mode(optimizer)
    run_steps(optimizer, 3)
    (weight,) = optimizer.param_groups[0]["params"]
    training = weight.detach().clone()
    kind.eval_mode(optimizer)
    assert not optimizer.param_groups[0]["train_mode"]
    assert not torch.equal(weight, training)  # eval holds the averaged iterate, the one to sample and save
    kind.train_mode(optimizer)
    torch.testing.assert_close(weight.detach(), training)


def test_adafactor_at_its_defaults_reports_a_serialisable_step_size(base, tmp_path):
    """Its step size came back as a tensor, which the worker could not send (found by the optimizers lesson)."""
    import json

    from trainer.events import EventRecords
    from trainer.train import train

    events = []
    config = {"data": {"images": 4}, "optimizer": {"name": "adafactor", "relative_step": True, "scale_parameter": True}, "training": {"max_steps": 2, "batch_size": 2}}
    train(config, tmp_path, EventRecords(lambda e: events.append(json.loads(json.dumps(e)))), load_model=lambda *_: base)
    assert events[-1]["type"] == "finished", events[-1]
    assert all(e["effective_lrs"][0] > 0 for e in events if e["type"] == "step")
