"""Every scheduler row: the LR the trainer applies equals the library's own curve, and the golden vectors still hold."""

import io
import json

import pytest
import torch
from diffusers import optimization as diffusers_schedules
from pytorch_optimizer.lr_scheduler.cosine_anealing import CosineAnnealingWarmupRestarts
from pytorch_optimizer.lr_scheduler.rex import REXScheduler
from transformers import optimization as transformers_schedules

from trainer import config as configs
from trainer import golden_schedules
from trainer.optimizers import OPTIMIZERS
from trainer.schedulers import SCHEDULERS, steps_or_ratio


def first_lr_computed(scheduler) -> float:
    """pytorch-optimizer's schedulers compute step 0's LR, then reset the group to min_lr; the curve starts at the computed value."""
    value = scheduler.get_lr()
    return value[0] if isinstance(value, list) else value


def pytorch_optimizer_lrs(make, optimizer, total):
    scheduler = make(optimizer)
    lrs = [first_lr_computed(scheduler)]
    for _ in range(total - 1):
        scheduler.step()
        lrs.append(optimizer.param_groups[0]["lr"])
    return lrs


def lambda_lrs(scheduler, optimizer, total):
    lrs = []
    for _ in range(total):
        lrs.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    return lrs


# The libraries called directly, on absolute LRs, as their own documentation shows: the oracle for each row.
def reference(name: str, c: dict, lr: float, total: int) -> list[float]:
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=lr)
    warmup = steps_or_ratio(c["warmup_steps"], total)
    diffusers_kwargs = {"num_warmup_steps": warmup, "num_training_steps": total}
    library = {
        "constant": lambda: diffusers_schedules.get_scheduler("constant", optimizer),
        "constant_with_warmup": lambda: diffusers_schedules.get_scheduler("constant_with_warmup", optimizer, num_warmup_steps=warmup),
        "linear": lambda: diffusers_schedules.get_scheduler("linear", optimizer, **diffusers_kwargs),
        "cosine": lambda: diffusers_schedules.get_scheduler("cosine", optimizer, **diffusers_kwargs),
        "cosine_with_restarts": lambda: diffusers_schedules.get_scheduler("cosine_with_restarts", optimizer, num_cycles=c["num_cycles"], **diffusers_kwargs),
        "polynomial": lambda: diffusers_schedules.get_polynomial_decay_schedule_with_warmup(optimizer, warmup, total, lr_end=c["lr_end"], power=c["power"]),
        "piecewise_constant": lambda: diffusers_schedules.get_scheduler("piecewise_constant", optimizer, step_rules=c["rules"]),
        "cosine_with_min_lr": lambda: transformers_schedules.get_scheduler(
            "cosine_with_min_lr", optimizer, **diffusers_kwargs, scheduler_specific_kwargs={"min_lr_rate": c["min_lr_ratio"]}
        ),
        "warmup_stable_decay": lambda: transformers_schedules.get_scheduler(
            "warmup_stable_decay",
            optimizer,
            **diffusers_kwargs,
            scheduler_specific_kwargs={
                "num_decay_steps": steps_or_ratio(c["decay_steps"], total),
                "decay_type": c["decay_type"],
                "min_lr_ratio": c["min_lr_ratio"],
            },
        ),
        "inverse_sqrt": lambda: transformers_schedules.get_scheduler(
            "inverse_sqrt", optimizer, num_warmup_steps=warmup, scheduler_specific_kwargs={"timescale": c["timescale"]}
        ),
    }
    if name == "rex":
        return pytorch_optimizer_lrs(lambda o: REXScheduler(o, total_steps=total, max_lr=lr, min_lr=lr * c["min_lr_ratio"]), optimizer, total)
    if name == "cosine_with_restarts_decay":
        cycle = -(-total // c["num_cycles"])
        make = lambda o: CosineAnnealingWarmupRestarts(o, first_cycle_steps=cycle, max_lr=lr, min_lr=lr * c["min_lr_ratio"], warmup_steps=warmup, gamma=c["gamma"])  # noqa: E731
        return pytorch_optimizer_lrs(make, optimizer, total)
    return lambda_lrs(library[name](), optimizer, total)


@pytest.fixture(scope="module")
def golden():
    return golden_schedules.vectors()


def test_every_scheduler_is_in_the_grid(golden):
    assert {v["scheduler"]["name"] for v in golden} == set(SCHEDULERS.names())


def test_the_trainer_still_writes_the_committed_golden_vectors(golden):
    committed = json.loads(golden_schedules.FIXTURE.read_text())["cases"]
    # On failure: the applied LRs changed; if on purpose, run `python -m trainer.golden_schedules` and commit the fixture.
    assert golden == committed
    assert golden_schedules.FIXTURE.stat().st_size < 1_000_000


def test_applied_lr_equals_the_librarys_own_curve(golden):
    for case in golden:
        expected = reference(case["scheduler"]["name"], case["scheduler"], case["lr"], case["total_steps"])
        assert case["lrs"] == pytest.approx(expected, rel=1e-12, abs=1e-15), case["scheduler"]


def test_pytorch_optimizer_would_run_its_first_step_at_min_lr():
    # Why OnUnitLR applies step 0's computed value: left alone, REX's first step runs at min_lr, not at its peak.
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    rex = REXScheduler(optimizer, total_steps=10, max_lr=1.0, min_lr=0.0)
    assert optimizer.param_groups[0]["lr"] == 0.0 and first_lr_computed(rex) == 1.0


def test_warmup_ratio_is_read_as_sd_scripts_reads_it():
    assert [steps_or_ratio(v, 257) for v in (0, 0.1, 0.999, 1, 25)] == [0, 25, 256, 1, 25]
    lrs = golden_schedules.applied_lrs(1.0, 97, {"name": "constant_with_warmup", "warmup_steps": 0.1})
    assert lrs[8] < 1.0 and lrs[9] == 1.0  # int(0.1 * 97) = 9 warmup steps


def two_groups():
    optimizer = OPTIMIZERS["adamw"].create(
        [{"name": "unet", "params": [torch.nn.Parameter(torch.zeros(1))], "lr": 1e-3}, {"name": "text_encoder", "params": [torch.nn.Parameter(torch.zeros(1))], "lr": 1e-4}],
        configs.load({}).optimizer,
    )
    return optimizer


@pytest.mark.parametrize("name", SCHEDULERS.names())
def test_every_group_keeps_its_lr_ratio(name):
    optimizer = two_groups()
    schedule = SCHEDULERS[name].create(optimizer, configs.load({"scheduler": {"name": name}}).scheduler, total_steps=20)
    for _ in range(20):
        unet, text_encoder = (g["lr"] for g in optimizer.param_groups)
        assert text_encoder == pytest.approx(unet / 10, rel=1e-12, abs=1e-18)
        optimizer.step()
        schedule.step()


@pytest.mark.parametrize("name", ["rex", "cosine_with_restarts_decay", "cosine"])
def test_state_dict_resumes_the_same_curve(name):
    section = configs.load({"scheduler": {"name": name, "num_cycles": 3}}).scheduler
    optimizer = two_groups()
    schedule = SCHEDULERS[name].create(optimizer, section, total_steps=30)
    uninterrupted = golden_schedules.applied_lrs(1e-3, 30, section.to_dict())
    for _ in range(11):
        optimizer.step()
        schedule.step()
    saved = io.BytesIO()
    torch.save({"optimizer": optimizer.state_dict(), "schedule": schedule.state_dict()}, saved)
    saved.seek(0)
    state = torch.load(saved, weights_only=True)  # plain data only
    # As train.py resumes: build both, then load both.
    resumed_optimizer = two_groups()
    resumed = SCHEDULERS[name].create(resumed_optimizer, section, total_steps=30)
    resumed_optimizer.load_state_dict(state["optimizer"])
    resumed.load_state_dict(state["schedule"])
    lrs = []
    for _ in range(19):
        lrs.append(resumed_optimizer.param_groups[0]["lr"])
        resumed_optimizer.step()
        resumed.step()
    assert lrs == pytest.approx(uninterrupted[11:], rel=1e-12)


@pytest.mark.parametrize(
    "scheduler, message",
    [
        ({"name": "constant", "warmup_steps": 5}, r"^scheduler\.warmup_steps: 'constant' has no warmup phase, so it must be 0; use constant_with_warmup"),
        ({"name": "rex", "warmup_steps": 0.1}, r"^scheduler\.warmup_steps: 'rex' has no warmup phase"),
        ({"name": "polynomial", "lr_end": 0.01}, r"^scheduler\.lr_end: 0\.01 must be below optimizer\.lr"),
        ({"name": "warmup_stable_decay", "warmup_steps": 8, "decay_steps": 5}, r"^scheduler\.decay_steps: warmup \(8\) plus decay \(5\) exceed the run's 10 steps"),
        ({"name": "cosine_with_restarts_decay", "num_cycles": 5, "warmup_steps": 2}, r"^scheduler\.warmup_steps: each cycle warms up"),
    ],
)
def test_refusals_name_the_field(scheduler, message):
    cfg = configs.load({"scheduler": scheduler})
    optimizer = OPTIMIZERS["adamw"].create([torch.nn.Parameter(torch.zeros(1))], cfg.optimizer)
    with pytest.raises(configs.ConfigError, match=message):
        SCHEDULERS[cfg.scheduler.name].create(optimizer, cfg.scheduler, total_steps=10)


@pytest.mark.parametrize(
    "scheduler, message",
    [
        ({"warmup_steps": 1.5}, r"^scheduler\.warmup_steps: "),
        ({"warmup_steps": -1}, r"^scheduler\.warmup_steps: "),
        ({"name": "cosine_annealing"}, r"^scheduler\.name: "),
        ({"rules": "1:ten"}, r"^scheduler\.rules: "),
        ({"decay_type": "exp"}, r"^scheduler\.decay_type: "),
    ],
)
def test_bad_values_name_the_field(scheduler, message):
    with pytest.raises(configs.ConfigError, match=message):
        configs.load({"scheduler": scheduler})
