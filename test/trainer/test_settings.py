"""Training settings: step counting, batch order, precision, loss refinements, live measures, resume."""

import math
import re

import pytest
import torch
from safetensors import safe_open
from diffusers.training_utils import compute_snr

from trainer import config as configs
from trainer.events import EventRecords
from trainer.batches import batch_indices
from trainer.losses import snr_weights
from trainer.noise import draw_timesteps
from trainer.train import ADAPTER_FILE, total_steps, train

SMALL = {"data": {"images": 4}, "training": {"batch_size": 2, "seed": 3}}


def run(base, tmp_path, config, stop_after=None, name="run"):
    events = []
    recorder = EventRecords(events.append, should_stop=lambda: stop_after is not None and sum(e["type"] == "step" for e in events) >= stop_after)
    run_dir = tmp_path / name
    run_dir.mkdir()
    train(config, run_dir, recorder, load_model=lambda *_: base)
    assert events[-1]["type"] in {"finished", "cancelled"}, events[-1]
    return events


def merged(*layers):
    out = {}
    for layer in layers:
        for section, fields in layer.items():
            out[section] = {**out.get(section, {}), **fields}
    return out


def test_epochs_count_optimizer_steps_as_sd_scripts_does():
    training = configs.load({"training": {"epochs": 3, "batch_size": 4, "gradient_accumulation": 2}}).training
    # 10 images: ceil(10 / 4) = 3 batches per epoch, ceil(3 / 2) = 2 optimizer steps per epoch.
    assert total_steps(training, [10]) == 6
    # Buckets of 5 and 3 images: ceil(5 / 4) + ceil(3 / 4) = 3 batches per epoch, as batch_indices deals them.
    assert total_steps(training, [5, 3]) == 6
    assert total_steps(configs.load({"training": {"epochs": 1, "batch_size": 4}}).training, [5, 3, 1]) == 4
    assert total_steps(configs.load({"training": {"max_steps": 17}}).training, [10]) == 17


def test_batch_order_shuffles_each_epoch_and_is_a_pure_function():
    count, size = 5, 2
    one_bucket = [torch.arange(count)]
    seen = torch.cat([batch_indices(b, one_bucket, size, seed=7) for b in range(10)])  # 20 indices = 4 epochs
    for epoch in range(4):
        assert sorted(seen[epoch * count : (epoch + 1) * count].tolist()) == list(range(count))
    assert seen[:count].tolist() != seen[count : 2 * count].tolist()  # reshuffled
    assert torch.equal(batch_indices(3, one_bucket, size, seed=7), batch_indices(3, one_bucket, size, seed=7))


def test_snr_weights_follow_min_snr_and_sd_scripts_debiased_estimation(base):
    t = torch.tensor([10, 500, 990])
    snr = compute_snr(base.noise_scheduler, t)
    weights = lambda prediction, **training: snr_weights(base.noise_scheduler, t, configs.load({"training": training}).training, prediction)
    assert torch.allclose(weights("epsilon", min_snr_gamma=5.0), torch.clamp(snr, max=5) / snr)
    assert torch.allclose(weights("v_prediction", min_snr_gamma=5.0), torch.clamp(snr, max=5) / (snr + 1))
    assert torch.allclose(weights("epsilon", debiased_estimation=True), 1 / torch.sqrt(snr))
    assert torch.allclose(weights("v_prediction", debiased_estimation=True), 1 / (snr + 1))
    assert torch.allclose(weights("epsilon", min_snr_gamma=5.0, debiased_estimation=True), torch.clamp(snr, max=5) / snr / torch.sqrt(snr))
    assert weights("epsilon") is None


def test_a_run_with_a_timestep_range_another_loss_and_debiased_weights_trains_and_says_so(base, tmp_path):
    plain = losses(run(base, tmp_path, merged(SMALL, {"training": {"max_steps": 3}}), name="plain"))
    narrowed = run(base, tmp_path, merged(SMALL, {"training": {"max_steps": 3, "min_timestep": 900, "debiased_estimation": True, "loss_type": "huber"}}), name="narrowed")
    assert losses(narrowed) != pytest.approx(plain)
    with safe_open(str(tmp_path / "narrowed" / ADAPTER_FILE), "pt") as f:
        recorded = {k: f.metadata()[k] for k in ("ss_min_timestep", "ss_max_timestep", "ss_debiased_estimation", "ss_loss_type", "ss_huber_schedule")}
    assert recorded == {"ss_min_timestep": "900", "ss_max_timestep": "1000", "ss_debiased_estimation": "True", "ss_loss_type": "huber", "ss_huber_schedule": "snr"}


def test_timesteps_stay_in_the_configured_range():
    draw = lambda **training: draw_timesteps(2000, configs.load({"training": training}).training, 1000, torch.Generator().manual_seed(0))
    assert torch.equal(draw(), torch.randint(0, 1000, (2000,), generator=torch.Generator().manual_seed(0)))  # the default draws as it always did
    late = draw(min_timestep=200, max_timestep=700)
    assert late.min() >= 200 and late.max() < 700 and late.min() < 210 and late.max() > 690
    with pytest.raises(configs.ConfigError, match=r"^training.min_timestep: 700 leaves no timesteps below training.max_timestep 700"):
        draw(min_timestep=700, max_timestep=700)


def test_step_events_carry_every_measure(base, tmp_path):
    events = run(base, tmp_path, merged(SMALL, {"training": {"max_steps": 2}}))
    step = next(e for e in events if e["type"] == "step")
    assert step["lrs"] == [step["lr"]]
    assert step["grad_norm"] > 0 and math.isfinite(step["grad_norm"])
    assert step["step_seconds"] > 0 and step["images_per_second"] > 0
    assert step["rss_bytes"] > 50_000_000


@pytest.mark.parametrize(
    "settings",
    [
        {"mixed_precision": "bf16"},
        {"mixed_precision": "fp16"},
        {"gradient_checkpointing": True},
        {"prediction_type": "v_prediction", "min_snr_gamma": 5},
        {"noise_offset": 0.1, "gradient_accumulation": 2},
    ],
    ids=lambda s: ",".join(s),
)
def test_each_setting_trains_with_finite_loss(base, tmp_path, settings):
    events = run(base, tmp_path, merged(SMALL, {"training": {"max_steps": 2, **settings}}))
    assert events[-1]["type"] == "finished"
    assert all(math.isfinite(e["loss"]) for e in events if e["type"] == "step")


def test_settings_change_the_loss(base, tmp_path):
    plain = run(base, tmp_path, merged(SMALL, {"training": {"max_steps": 1}}), name="plain")
    for i, settings in enumerate([{"noise_offset": 0.2}, {"prediction_type": "v_prediction"}, {"min_snr_gamma": 0.001}]):
        changed = run(base, tmp_path, merged(SMALL, {"training": {"max_steps": 1, **settings}}), name=f"changed{i}")
        assert changed[1]["loss"] != pytest.approx(plain[1]["loss"], rel=1e-6), settings


# The dropouts and DyLoRA's rank draw from the global random states, which the state keeps too.
@pytest.mark.parametrize("method", [{}, {"name": "lora", "dropout": 0.3, "rank_dropout": 0.3, "module_dropout": 0.3}, {"name": "dylora", "module_dropout": 0.3}], ids=["lora", "dropouts", "dylora"])
def test_resume_continues_the_loss_sequence_exactly(base, tmp_path, method):
    config = merged(SMALL, {"method": method, "optimizer": {"lr": 1e-2}, "scheduler": {"name": "cosine"}, "training": {"max_steps": 6}})
    straight = [e["loss"] for e in run(base, tmp_path, config, name="straight") if e["type"] == "step"]

    first = run(base, tmp_path, config, stop_after=3, name="first")
    assert first[-1] == {**first[-1], "type": "cancelled", "step": 3}
    assert (tmp_path / "first" / "state" / "state.pt").is_file()

    resumed = run(base, tmp_path, merged(config, {"training": {"resume": "first"}}), name="second")
    assert next(e for e in resumed if e["type"] == "started")["resumed_from"] == 3
    steps = [e for e in resumed if e["type"] == "step"]
    assert [e["step"] for e in steps] == [4, 5, 6]
    assert [e["loss"] for e in steps] == pytest.approx(straight[3:], rel=1e-6, abs=1e-7)


def test_resume_refuses_a_different_config(base, tmp_path):
    config = merged(SMALL, {"training": {"max_steps": 4}})
    run(base, tmp_path, config, stop_after=1, name="first")
    events = run_failing(base, tmp_path, merged(config, {"optimizer": {"lr": 0.5}, "training": {"resume": "first"}}))
    assert "training.resume" in events[-1]["error"] and "optimizer.lr" in events[-1]["error"]
    events = run_failing(base, tmp_path, merged(config, {"training": {"resume": "no-such-run"}}))
    assert "training.resume: no saved state for 'no-such-run'" in events[-1]["error"]


def test_a_state_saved_before_a_field_existed_resumes_at_its_default(base, tmp_path):
    config = merged(SMALL, {"training": {"max_steps": 3}})
    run(base, tmp_path, config, stop_after=1, name="first")
    state = tmp_path / "first" / "state" / "state.pt"
    payload = torch.load(state, weights_only=False)
    del payload["config"]["training"]["loss_type"]  # as an older tunebook saved it
    torch.save(payload, state)
    resumed = run(base, tmp_path, merged(config, {"training": {"resume": "first"}}), name="second")
    assert resumed[-1]["type"] == "finished"
    # ...but a value other than the default is still a different run
    events = run_failing(base, tmp_path, merged(config, {"training": {"resume": "first", "loss_type": "l1"}}))
    assert "training.resume: the config differs from the saved run's at training.loss_type" in events[-1]["error"]


def test_a_run_resumes_compiled_or_not(base, tmp_path):
    """Compiling changes how fast the same steps run, not what they compute: a resume may switch it."""
    config = merged(SMALL, {"training": {"max_steps": 3}})
    run(base, tmp_path, config, stop_after=1, name="first")
    compiled = {"training": {"resume": "first", "torch_compile": True, "dynamo_backend": "aot_eager"}}
    resumed = run(base, tmp_path, merged(config, compiled), name="second")
    assert resumed[-1]["type"] == "finished" and resumed[0]["resumed_from"] == 1


def run_failing(base, tmp_path, config):
    events = []
    (tmp_path / "failing").mkdir(exist_ok=True)
    train(config, tmp_path / "failing", EventRecords(events.append), load_model=lambda *_: base)
    assert events[-1]["type"] == "failed"
    return events


def losses(events):
    return [e["loss"] for e in events if e["type"] == "step"]


def test_memory_and_disk_latent_caches_train_identically(base, tmp_path, monkeypatch):
    monkeypatch.setattr("trainer.latent_cache.DEFAULT_ROOT", tmp_path / "cache")
    config = merged(SMALL, {"training": {"max_steps": 3}})
    memory = run(base, tmp_path, merged(config, {"training": {"cache_latents": "memory"}}), name="memory")
    disk = run(base, tmp_path, merged(config, {"training": {"cache_latents": "disk"}}), name="disk")
    assert losses(disk) == pytest.approx(losses(memory), rel=1e-6)
    assert len(list((tmp_path / "cache").rglob("*.safetensors"))) == 4  # one entry per image


def test_uncached_latents_load_in_worker_processes_in_the_same_order(base, tmp_path):
    config = merged(SMALL, {"training": {"max_steps": 3, "cache_latents": "off"}})
    in_process = run(base, tmp_path, merged(config, {"training": {"dataloader_workers": 0}}), name="w0")
    two_workers = run(base, tmp_path, merged(config, {"training": {"dataloader_workers": 2}}), name="w2")
    assert losses(two_workers) == pytest.approx(losses(in_process), rel=1e-6)


def test_a_failed_run_keeps_the_adapter_of_its_last_good_state(base, tmp_path):
    config = merged(SMALL, {"optimizer": {"lr": 10.0, "weight_decay": 0.0}, "training": {"max_steps": 50, "save_state_every": 1}})
    (tmp_path / "diverges").mkdir()
    events = []
    train(config, tmp_path / "diverges", EventRecords(events.append), load_model=lambda *_: base)
    failed = events[-1]
    assert failed["type"] == "failed" and re.search(r"the (loss|gradients) became (nan|inf)", failed["error"]), failed
    with safe_open(tmp_path / "diverges" / "adapter.safetensors", "pt") as f:
        assert int(f.metadata()["ss_steps"]) == failed["step"]  # the last step whose loss was finite
        assert all(torch.isfinite(f.get_tensor(k)).all() for k in f.keys())


def test_cpu_threads_are_set_for_each_run(base, tmp_path):
    """The worker outlives runs, so every run sets torch's thread count: its own, or every core but one."""
    before = torch.get_num_threads()
    try:
        for threads, name in ((1, "one"), (2, "two")):
            run(base, tmp_path, merged(SMALL, {"training": {"max_steps": 1, "cpu_threads": threads}}), name=name)
            assert torch.get_num_threads() == threads
    finally:
        torch.set_num_threads(before)
