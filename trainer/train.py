"""The training loop: fine-tune an adapter on a frozen Stable Diffusion XL.

Read top to bottom: setup in named steps (models -> method -> optimizer ->
schedule -> data), then the loop, one diffusion training step per iteration.
The same code trains the shipped shapes-xl on a laptop CPU and a real SDXL on a GPU.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import torch
import torch.nn.functional as F

from trainer import config as configs
from trainer import models
from trainer.datasets import DATASETS
from trainer.events import Events
from trainer.methods import METHODS
from trainer.optimizers import OPTIMIZERS
from trainer.schedulers import SCHEDULERS

ADAPTER_FILE = "adapter.safetensors"


@dataclass
class TrainingData:
    """The dataset, encoded once: the VAE and text encoders are frozen, so their outputs never change."""

    latents: torch.Tensor  # (N, 4, H/f, W/f), scaled
    prompt_embeds: torch.Tensor  # (N, T, D_1 + D_2)
    pooled_embeds: torch.Tensor  # (N, P)
    time_ids: torch.Tensor  # (N, 6)

    def __len__(self) -> int:
        return len(self.latents)


def pick_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def prepare_data(base: models.BaseModel, data: configs.Frozen, generator: torch.Generator) -> TrainingData:
    pairs = DATASETS[data.generator].generate(data.images, data.seed, data.resolution)
    images, captions = [image for image, _ in pairs], [caption for _, caption in pairs]
    prompt_embeds, pooled_embeds = models.encode_prompts(base, captions)
    size = (data.resolution, data.resolution)
    return TrainingData(
        latents=models.encode_images(base, images, generator),
        prompt_embeds=prompt_embeds,
        pooled_embeds=pooled_embeds,
        # Generated images are never cropped or resized: original = target size, crop (0, 0).
        time_ids=models.time_ids(size, (0, 0), size, len(images)).to(prompt_embeds.device),
    )


def batches(count: int, batch_size: int, generator: torch.Generator) -> Iterator[torch.Tensor]:
    """Indices of each batch: epochs of shuffled images, chained, so every image is seen once per epoch."""
    order = torch.empty(0, dtype=torch.long)
    while True:
        while len(order) < batch_size:
            order = torch.cat([order, torch.randperm(count, generator=generator)])
        yield order[:batch_size]
        order = order[batch_size:]


def train(
    config: dict,
    run_dir: Path,
    events: Events,
    load_model: Callable[[str, torch.device], models.BaseModel] = models.load,
) -> None:
    """Train one adapter as `config` says, report through `events`, save to run_dir/adapter.safetensors.

    Never raises: any error becomes events.failed. `load_model` lets a
    long-lived caller hand in base models it keeps loaded between runs.
    """
    completed = 0  # optimizer steps done
    adapter = None
    try:
        cfg = configs.load(config)
        seed_everything(cfg.training.seed)
        generator = torch.Generator().manual_seed(cfg.training.seed)  # noise, timesteps and batch order
        device = pick_device()
        total = cfg.training.max_steps

        # 1. models: the frozen base
        base = load_model(cfg.model, device)
        noise_scheduler = base.noise_scheduler
        if noise_scheduler.config.prediction_type != "epsilon":
            raise ValueError(f"model '{cfg.model}' predicts {noise_scheduler.config.prediction_type}; only epsilon-prediction models (SD1.5, SDXL) train for now")
        # 2. method: the trainable adapter on the UNet
        adapter = METHODS[cfg.method.name].create(base.unet, cfg.method)
        params = adapter.parameters()
        # 3. optimizer, and the schedules it allows
        optimizer_kind = OPTIMIZERS[cfg.optimizer.name]
        optimizer_kind.check_schedule(cfg.optimizer, cfg.scheduler)
        optimizer = optimizer_kind.create(params, cfg.optimizer)
        # 4. schedule: the LR multiplier per step
        lr_scheduler = SCHEDULERS[cfg.scheduler.name].create(optimizer, cfg.scheduler, total)
        # 5. data, encoded once
        data = prepare_data(base, cfg.data, generator)
        order = batches(len(data), cfg.training.batch_size, generator)

        events.started(total=total, trainable_params=sum(p.numel() for p in params), device=str(device))
        start = time.perf_counter()
        optimizer_kind.train_mode(optimizer)  # schedule-free: train on its training iterate
        while completed < total:
            if events.should_stop():
                events.cancelled(step=completed)
                return
            idx = next(order)  # (B,)
            # latents: precomputed VAE encodings of this batch's images
            latents = data.latents[idx].to(device)  # (B, 4, h, w)
            # noise: what the UNet learns to predict
            noise = torch.randn(latents.shape, generator=generator).to(device)  # (B, 4, h, w)
            # timesteps: uniform over the training schedule
            timesteps = torch.randint(0, noise_scheduler.config.num_train_timesteps, (len(idx),), generator=generator).to(device)  # (B,)
            # add_noise: the forward process q(x_t | x_0)
            noisy = noise_scheduler.add_noise(latents, noise, timesteps)  # (B, 4, h, w)
            # predict: the UNet with the adapter, conditioned on text and SDXL's size/crop ids
            pred = base.unet(
                noisy,
                timesteps,
                encoder_hidden_states=data.prompt_embeds[idx].to(device),  # (B, T, D)
                added_cond_kwargs={"text_embeds": data.pooled_embeds[idx].to(device), "time_ids": data.time_ids[idx].to(device)},
            ).sample  # (B, 4, h, w)
            # target: epsilon prediction, the noise itself
            target = noise
            # loss: mean squared error over every latent value
            loss = F.mse_loss(pred.float(), target.float())
            # backward
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            # step: the update uses this LR; read it before the scheduler moves on
            lr = optimizer.param_groups[0]["lr"]
            optimizer.step()
            lr_scheduler.step()
            completed += 1
            events.step(step=completed, total=total, loss=loss.item(), lr=lr, seconds=time.perf_counter() - start)

        optimizer_kind.eval_mode(optimizer)  # schedule-free: save its averaged weights
        adapter.save(run_dir / ADAPTER_FILE, base_model=cfg.model)
        events.finished(step=completed, seconds=time.perf_counter() - start, adapter=ADAPTER_FILE)
    except Exception as error:  # the caller is a long-lived worker: report, never crash it
        events.failed(error=str(error) if isinstance(error, configs.ConfigError) else f"{type(error).__name__}: {error}", step=completed or None)
    finally:
        if adapter is not None:
            adapter.remove()
