"""`python -m trainer.bench`: how much our training loop costs over the bare minimum, how fast a run starts, and what a first LoRA learns.

- loop overhead: steps/s of train() against a bare loop doing the same work
  (same model, adapter, optimizer, schedule, batches: noise, timesteps,
  add_noise, UNet, MSE, backward, step) in the same process, alternated so
  machine noise hits both alike. Target: ratio >= 0.97.
- time to first step: from sending a run to a worker until its first step
  event, for a fresh (cold) worker and for a second run on the same (warm) one.
- SDXL's low-memory setting on a GPU (issue 7: at most 8 GB at batch 1 with
  gradient checkpointing and AdamW8bit), estimated on this CPU: the GPU
  bench's own step on fake tensors, its peak memory counted (trainer.memory;
  `python -m trainer.bench_gpu --estimate` does every case). A GPU measures it
  for real with `npm run bench:gpu`.
- first taste (issue 4): the welcome lesson's star LoRA (its cell `first-lora`,
  read from lessons/welcome.md) trained for 400 steps per seed, scored every
  50: fidelity and retention on 32 prompts each, and the wall time. Goal: a
  step with fidelity >= 0.8 while retention >= 0.9.

Prints one JSON object on stdout.
"""

from __future__ import annotations

import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from trainer import bench_gpu
from trainer import config as configs
from trainer import models
from trainer.events import EventRecords
from trainer.methods import METHODS
from trainer.optimizers import OPTIMIZERS
from trainer.schedulers import SCHEDULERS
from trainer.batches import batch_indices
from trainer.latent_cache import LatentCache
from trainer.headless import read_yaml
from trainer.train import prepare_data, train

# Captions encoded once, as the bare loop does (the text-encoder cache; off, train() encodes every batch).
CONFIG = {"data": {"images": 16}, "training": {"max_steps": 60, "batch_size": 4, "seed": 0, "cache_text_encoder_outputs": "memory"}}
SKIP = 10  # warm-up steps left out of every timing


def ours(base: models.BaseModel, run_dir: Path) -> float:
    """Steps/s of train() after warm-up, from its own step events."""
    events: list[dict] = []
    train(CONFIG, run_dir, EventRecords(events.append), load_model=lambda *_: base)
    steps = [e for e in events if e["type"] == "step"]
    if not steps:
        raise RuntimeError(f"the benchmark run did not train: {events[-1]}")
    return (len(steps) - SKIP) / (steps[-1]["seconds"] - steps[SKIP - 1]["seconds"])


def bare(base: models.BaseModel) -> float:
    """Steps/s of the least code that does the same work."""
    cfg = configs.load(CONFIG)
    generator = torch.Generator().manual_seed(0)
    adapter = METHODS[cfg.method.name].create(base, cfg.method)
    try:
        optimizer = OPTIMIZERS[cfg.optimizer.name].create(adapter.param_groups(cfg.optimizer.lr), cfg.optimizer)
        scheduler = SCHEDULERS[cfg.scheduler.name].create(optimizer, cfg.scheduler, cfg.training.max_steps)
        data = prepare_data(cfg.data)
        latents_all = torch.stack(LatentCache(base, "memory").latents(data.examples, data.placements, generator))  # one bucket
        with torch.no_grad():
            prompt_embeds, pooled_embeds = models.encode_prompts(base, data.captions)
        steps = cfg.training.max_steps
        for step in range(steps):
            if step == SKIP:
                start = time.perf_counter()
            idx = batch_indices(step, data.by_bucket, cfg.training.batch_size, cfg.training.seed)
            latents = latents_all[idx]
            noise = torch.randn(latents.shape, generator=generator)
            timesteps = torch.randint(0, 1000, (len(idx),), generator=generator)
            noisy = base.noise_scheduler.add_noise(latents, noise, timesteps)
            pred = base.unet(
                noisy,
                timesteps,
                encoder_hidden_states=prompt_embeds[idx],
                added_cond_kwargs={"text_embeds": pooled_embeds[idx], "time_ids": data.time_ids[idx]},
            ).sample
            loss = F.mse_loss(pred, noise)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()
            loss.item()  # both loops read the loss every step
        return (steps - SKIP) / (time.perf_counter() - start)
    finally:
        adapter.remove()


def loop_overhead(rounds: int = 3) -> dict:
    base = models.load("shapes-xl", torch.device("cpu"))
    ours_rates, bare_rates = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(rounds):
            bare_rates.append(bare(base))
            run_dir = Path(tmp) / f"run{i}"
            run_dir.mkdir()
            ours_rates.append(ours(base, run_dir))
    ours_median, bare_median = statistics.median(ours_rates), statistics.median(bare_rates)
    return {
        "ours_steps_per_second": ours_median,
        "bare_steps_per_second": bare_median,
        "ratio": ours_median / bare_median,
        "target_ratio": 0.97,
        "rounds": rounds,
        "steps_per_round": CONFIG["training"]["max_steps"] - SKIP,
    }


def time_to_first_step() -> dict:
    """Cold: a new worker process (imports, model load, data). Warm: the next run on it."""
    read_fd, write_fd = os.pipe()
    sent = time.perf_counter()
    worker = subprocess.Popen(
        [sys.executable, "-m", "trainer", "worker"],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        close_fds=False,  # our fds are non-inheritable (PEP 446); only the dup2'd fd 3 passes
        preexec_fn=lambda: os.dup2(write_fd, 3),
        cwd=Path(__file__).resolve().parents[1],
        text=True,
    )
    os.close(write_fd)
    channel = os.fdopen(read_fd)
    results = {}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for label in ("cold", "warm"):
                config = configs.resolve({**CONFIG, "training": {**CONFIG["training"], "max_steps": 2}})
                run_dir = Path(tmp) / label
                worker.stdin.write(json.dumps({"type": "run", "run_id": label, "run_dir": str(run_dir), "config": config}) + "\n")
                worker.stdin.flush()
                for line in channel:
                    message = json.loads(line)
                    event = message.get("event", {})
                    if event.get("type") == "step" and label not in results:
                        results[label] = time.perf_counter() - sent
                    if message["type"] == "idle":
                        break
                sent = time.perf_counter()
    finally:
        worker.stdin.write(json.dumps({"type": "shutdown"}) + "\n")
        worker.stdin.close()
        worker.wait(timeout=30)
    return {"cold_seconds": results["cold"], "warm_seconds": results["warm"]}


WELCOME = Path(__file__).resolve().parents[1] / "lessons" / "welcome.md"
TASTE = {"steps": 400, "every": 50, "prompts": 32, "seeds": (0, 1), "fidelity": 0.8, "retention": 0.9}


def first_lora_cell() -> dict:
    """The config of the welcome lesson's first train cell: what `npm start` opens on."""
    found = re.search(r"^```train id=first-lora\n(.*?)^```", WELCOME.read_text(), re.S | re.M)
    if found is None:
        raise RuntimeError(f"{WELCOME} has no train cell with id first-lora")
    return read_yaml(found.group(1))


def first_taste(model: str = "shapes-xl") -> dict:
    """The first LoRA in full: fidelity and retention along 400 steps of the welcome cell, per seed (on another
    base model than the shipped one to weigh a candidate: PRETRAIN.md)."""
    base = models.load(model, torch.device("cpu"))
    cell = first_lora_cell()
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        for seed in TASTE["seeds"]:
            config = {**cell, "sample": {"every": 0}, "eval": {"every": TASTE["every"], "prompts": TASTE["prompts"]}}
            config["training"] = {**cell.get("training", {}), "max_steps": TASTE["steps"], "seed": seed}
            events: list[dict] = []
            run_dir = Path(tmp) / f"seed{seed}"
            run_dir.mkdir()
            start = time.perf_counter()
            train(config, run_dir, EventRecords(events.append), load_model=lambda *_: base)
            if events[-1]["type"] != "finished":
                raise RuntimeError(f"the first-taste run failed: {events[-1]}")
            scores = [{"step": e["step"], "fidelity": e["fidelity"], "retention": e["retention"]} for e in events if e["type"] == "eval"]
            runs.append(
                {
                    "seed": seed,
                    "scores": scores,
                    "peak_fidelity": max(scores, key=lambda s: (s["fidelity"], s["retention"])),
                    "met": any(s["fidelity"] >= TASTE["fidelity"] and s["retention"] >= TASTE["retention"] for s in scores),
                    "train_seconds": sum(e["step_seconds"] for e in events if e["type"] == "step"),
                    "wall_seconds": time.perf_counter() - start,  # with loading the data and scoring
                }
            )
    return {"cell": "lessons/welcome.md#first-lora", **{k: v for k, v in TASTE.items() if k != "seeds"}, "runs": runs, "met": all(run["met"] for run in runs)}


LOW_MEMORY_GOAL_BYTES = 8e9


MFU_GOAL = 0.45


def sdxl_estimates() -> dict:
    """Issue 7's goals against SDXL's steps counted on fake tensors, from one estimate: the low-memory case's peak
    against 8 GB, and at batch 8 the most MFU the step's own ops allow on an H100, eager and fused
    (trainer/roofline.py): whether perfect kernels could meet 45% at all."""
    low_memory, batch8 = bench_gpu.estimate_model("sdxl", [bench_gpu.LOW_MEMORY, bench_gpu.Case(8)])["cases"]
    roofline = batch8["roofline"]
    return {
        "sdxl_low_memory": {**low_memory, "goal_bytes": LOW_MEMORY_GOAL_BYTES, "met": low_memory["estimated_peak_bytes"] <= LOW_MEMORY_GOAL_BYTES},
        "sdxl_batch8_roofline": {**batch8, "goal_mfu": MFU_GOAL, "within_eager_floor": roofline["mfu"] >= MFU_GOAL, "within_fused_floor": roofline["fused_mfu"] >= MFU_GOAL},
    }


def main() -> None:
    # Libraries (LyCORIS's logger among them) print to stdout; keep it for the report alone.
    report_fd = os.dup(1)
    os.dup2(2, 1)
    report = {"loop_overhead": loop_overhead(), "time_to_first_step": time_to_first_step(), "torch_threads": torch.get_num_threads(), **sdxl_estimates(), "first_taste": first_taste()}
    sys.stdout.flush()
    os.dup2(report_fd, 1)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
