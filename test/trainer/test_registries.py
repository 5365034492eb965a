"""One list of names: every registry holds exactly the schema's enum, and every entry honours its contract."""

import pytest
import torch

from trainer import config as configs
from trainer.datasets import DATASETS
from trainer.methods import METHODS
from trainer.optimizers import OPTIMIZERS
from trainer.registry import UnknownName
from trainer.sampling import SAMPLERS
from trainer.schedulers import SCHEDULERS
from trainer.shapes.concepts import CONCEPTS

REGISTRIES = {"method": METHODS, "optimizer": OPTIMIZERS, "scheduler": SCHEDULERS, "data.source": DATASETS, "data.concept": CONCEPTS, "sample.sampler": SAMPLERS}


@pytest.mark.parametrize("section", REGISTRIES)
def test_registry_names_equal_the_schema_enum(section):
    assert sorted(REGISTRIES[section].names()) == sorted(configs.enum(section))


def test_unknown_name_lists_the_known_ones():
    with pytest.raises(UnknownName, match=r"unknown optimizer 'sgd'; known: adamw"):
        OPTIMIZERS["sgd"]


def defaults(section: str, name: str) -> configs.Frozen:
    return getattr(configs.load({section: {"name": name}}), section)


@pytest.mark.parametrize("name", METHODS.names())
def test_method_starts_as_identity_and_removes_cleanly(name, base):
    unet = base.unet
    x, t = torch.randn(1, 4, 16, 16), torch.tensor([500])
    cond = dict(encoder_hidden_states=torch.randn(1, 32, unet.config.cross_attention_dim), added_cond_kwargs={"text_embeds": torch.randn(1, 64), "time_ids": torch.zeros(1, 6)})
    with torch.no_grad():
        before = unet(x, t, **cond).sample
        adapter = METHODS[name].create(base, defaults("method", name))
        assert adapter.parameters() and all(p.requires_grad for p in adapter.parameters())
        with_adapter = unet(x, t, **cond).sample
        adapter.remove()
        after = unet(x, t, **cond).sample
    torch.testing.assert_close(with_adapter, before)  # a fresh adapter changes nothing
    torch.testing.assert_close(after, before)


@pytest.mark.parametrize("name", OPTIMIZERS.names())
def test_optimizer_steps_downhill(name):
    kind = OPTIMIZERS[name]
    weight = torch.nn.Parameter(torch.zeros(3))
    optimizer = kind.create([{"name": "unet", "params": [weight], "lr": 1e-3}], defaults("optimizer", name))
    kind.train_mode(optimizer)
    for _ in range(3):
        optimizer.zero_grad()
        ((weight - 1) ** 2).sum().backward()
        optimizer.step()
    kind.eval_mode(optimizer)
    assert (weight > 0).all()


@pytest.mark.parametrize("name", SCHEDULERS.names())
def test_schedule_stays_within_the_base_lr_and_reaches_it_after_warmup(name):
    warmup = 2 if SCHEDULERS[name].has_warmup else 0
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.ones(1))], lr=0.5)
    schedule = SCHEDULERS[name].create(optimizer, configs.load({"scheduler": {"name": name, "warmup_steps": warmup}}).scheduler, total_steps=10)
    lrs = []
    for _ in range(10):
        lrs.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        schedule.step()
    assert all(0 <= lr <= 0.5 + 1e-12 for lr in lrs)
    assert lrs[warmup] == pytest.approx(0.5)
    assert all(lrs[i] < lrs[i + 1] for i in range(warmup))
