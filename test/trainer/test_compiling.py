"""training.torch_compile: the loop's UNet through torch.compile trains as the UNet itself does; failures name the field."""

import pytest
import torch
import torch._dynamo

from trainer import compiling
from trainer import config as configs
from trainer.events import EventRecords
from trainer.train import train

RUN = {"data": {"images": 2}, "optimizer": {"lr": 1e-2}, "training": {"max_steps": 3, "batch_size": 2, "seed": 0}}


def run(config, base, tmp_path):
    events = []
    train(config, tmp_path, EventRecords(events.append), load_model=lambda *_: base)
    assert events[-1]["type"] == "finished", events[-1]
    return events


def losses(events):
    return [e["loss"] for e in events if e["type"] == "step"]


def test_a_compiled_run_trains_as_the_uncompiled_one_and_forgets_its_graphs(base, tmp_path, monkeypatch):
    resets = []
    reset = torch._dynamo.reset
    monkeypatch.setattr(torch._dynamo, "reset", lambda: resets.append(torch._dynamo.utils.counters["stats"]["unique_graphs"]) or reset())
    plain = run(RUN, base, tmp_path / "plain")
    assert resets == []
    torch._dynamo.utils.counters.clear()
    # aot_eager traces forward and backward as inductor does, without generating code (no compiler needed, quick)
    compiled = run({**RUN, "training": {**RUN["training"], "torch_compile": True, "dynamo_backend": "aot_eager"}}, base, tmp_path / "compiled")
    assert torch._dynamo.utils.counters["stats"]["unique_graphs"] > 0  # it did compile
    # ... and the worker's next run starts without its graphs (and, on a GPU, its CUDA graphs' memory pool)
    assert len(resets) == 1 and resets[0] > 0
    assert losses(compiled) == pytest.approx(losses(plain), rel=1e-4)
    # the cell says why its first step waits
    assert compiled[0]["type"] == "started" and compiled[0]["compiling"] == "aot_eager"
    assert "compiling" not in plain[0]


def test_cudagraphs_is_refused_off_a_gpu():
    training = configs.load({"training": {"torch_compile": True, "dynamo_backend": "cudagraphs"}}).training
    with pytest.raises(configs.ConfigError, match=r"^training\.dynamo_backend: cudagraphs records CUDA kernels, and this run trains on the cpu"):
        compiling.training_unet(torch.nn.Linear(2, 2), training, torch.device("cpu"))


@pytest.mark.parametrize(
    ("backend", "mode", "refusal"),
    [
        ("aot_eager", "max-autotune", r"^training\.dynamo_mode: max-autotune is a mode of the inductor backend, and training\.dynamo_backend is aot_eager; set dynamo_mode to default$"),
        ("inductor", "reduce-overhead", r"^training\.dynamo_mode: reduce-overhead replays CUDA graphs, and this run trains on the cpu; set dynamo_mode to default$"),
    ],
)
def test_a_mode_the_backend_or_device_cannot_run_is_refused(backend, mode, refusal):
    training = configs.load({"training": {"torch_compile": True, "dynamo_backend": backend, "dynamo_mode": mode}}).training
    with pytest.raises(configs.ConfigError, match=refusal):
        compiling.training_unet(torch.nn.Linear(2, 2), training, torch.device("cpu"))


@pytest.mark.parametrize(("mode", "passed"), [("default", None), ("max-autotune", "max-autotune")])
def test_the_mode_reaches_torch_compile(monkeypatch, mode, passed):
    calls = []
    monkeypatch.setattr(compiling.torch, "compile", lambda model, **options: calls.append(options) or model)
    compiling.training_unet(torch.nn.Linear(2, 2), configs.load({"training": {"torch_compile": True, "dynamo_mode": mode}}).training, torch.device("cpu"))
    assert calls == [{"backend": "inductor", "mode": passed}]


def test_a_backend_that_fails_names_the_field_and_the_way_out(monkeypatch):
    def failing_compile(model, backend, mode):
        def call(*args, **kwargs):
            raise torch._dynamo.exc.BackendCompilerFailed(backend, RuntimeError("InvalidCxxCompiler: No working C++ compiler found"), None)

        return call

    monkeypatch.setattr(compiling.torch, "compile", failing_compile)
    training = configs.load({"training": {"torch_compile": True}}).training
    predict = compiling.training_unet(torch.nn.Linear(2, 2), training, torch.device("cpu"))
    with pytest.raises(configs.ConfigError, match=r"^training\.dynamo_backend: torch\.compile's inductor backend failed on this machine \(InvalidCxxCompiler: No working C\+\+ compiler found\); try aot_eager, or set training\.torch_compile: false$"):
        predict(torch.zeros(1, 2))


def test_without_torch_compile_the_loop_calls_the_unet_itself():
    unet = torch.nn.Linear(2, 2)
    assert compiling.training_unet(unet, configs.load({}).training, torch.device("cpu")) is unet
