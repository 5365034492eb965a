"""The training loop: fine-tune an adapter on a frozen Stable Diffusion model (SD1.5, SD2.x or SDXL).

Read top to bottom: setup in named steps (data -> models -> method ->
optimizer -> schedule -> model inputs), then the loop, one diffusion training
step per iteration. The same code trains the shipped shapes-xl on a laptop
CPU and a real SDXL on a GPU.
"""

from __future__ import annotations

import itertools
import math
import os
import random
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import psutil
import torch
from trainer import buckets, captions, checkpoint, datasets, evaluation, sampling, text_cache
from trainer import losses
from trainer import noise as noises
from trainer import config as configs
from trainer import models
from trainer.batches import batch_indices, mirrored, pixel_batches
from trainer.buckets import Placement
from trainer.compiling import release, training_unet
from trainer.distributed import Processes
from trainer.events import Events
from trainer.example import Example
from trainer.latent_cache import LatentCache
from trainer.methods import METHODS
from trainer.methods.metadata import run_metadata
from trainer.offload import Offload, cached_encoders
from trainer.optimizers import OPTIMIZERS
from trainer.precision import Precision
from trainer.schedulers import SCHEDULERS

ADAPTER_FILE = "adapter.safetensors"
SAVED_ADAPTERS = "adapters"  # training.save_every's adapters along the way, one file per step
WORD_FILES = "embeddings"  # method.embedding_words' words as embedding files of their own, <word>.safetensors


def saved_adapter(step: int) -> str:
    return f"{SAVED_ADAPTERS}/step-{step:08d}.safetensors"


def adapter_to_start_from(start_from: str, runs_root: Path) -> Path:
    """method.start_from names a run id under runs/ (its final adapter) or an adapter file."""
    for candidate in (runs_root / start_from / ADAPTER_FILE, Path(start_from)):
        if candidate.is_file():
            return candidate
    raise configs.ConfigError(f"method.start_from: no adapter '{start_from}' (looked for runs/{start_from}/{ADAPTER_FILE} and the file {start_from})")


@dataclass
class TrainingData:
    """The dataset, checked: each image's source and caption, its bucket placement, SDXL size ids, and which images share a bucket.

    latent_encoder and prompt_encoder turn them into model inputs; pixels are read only when those need them.
    """

    examples: list[Example]  # (N,): the training images, then the regularization images
    regularization: int  # how many of examples are regularization images
    loss_weights: torch.Tensor  # (N,): 1, or data.prior_loss_weight for a regularization image
    placements: list[Placement]  # (N,)
    time_ids: torch.Tensor  # (N, 6)
    mirrored_time_ids: torch.Tensor  # (N, 6): the same, for the image flipped left to right (data.flip_aug)
    by_bucket: list[torch.Tensor]  # the dataset indices of each bucket's images: every batch draws from one

    @property
    def bucket_counts(self) -> dict[tuple[int, int], int]:
        """Images (with repeats) per bucket (width, height)."""
        return {self.placements[int(indices[0])].bucket: len(indices) for indices in self.by_bucket}

    @property
    def captions(self) -> list[str]:
        return [example.caption for example in self.examples]

    def __len__(self) -> int:
        return len(self.examples)

    def time_ids_of(self, idx: torch.Tensor, flips: torch.Tensor) -> torch.Tensor:
        """SDXL's size and crop ids of a batch (B, 6), each as its image is seen: mirrored or not."""
        return torch.where(flips[:, None], self.mirrored_time_ids[idx], self.time_ids[idx])


def pick_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def cpu_threads(requested: int | None) -> int:
    """training.cpu_threads, or every core but one: the server and the browser share the machine."""
    return requested or max(1, (os.cpu_count() or 1) - 1)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def prepare_data(data: configs.Frozen) -> TrainingData:
    """Every image read and checked once (all problems reported before training), then placed in its bucket.

    Regularization images join the dataset as ordinary examples, as many as
    its images; only their loss weight tells them apart.
    """
    train, reg = datasets.load(data)
    examples = train + reg
    sides = buckets.of_config(data)
    placements = [buckets.place(example.size, sides) for example in examples]
    return TrainingData(
        examples=examples,
        regularization=len(reg),
        loss_weights=torch.tensor([1.0] * len(train) + [data.prior_loss_weight] * len(reg)),
        placements=placements,
        # SDXL's size ids from the real image: original (h, w), where the crop starts in the resized image, the bucket (h, w).
        # A drawn shapes-world image is already its bucket: (res, res), (0, 0), (res, res).
        time_ids=torch.cat([models.time_ids(e.size[::-1], p.crop_top_left, p.bucket[::-1], 1) for e, p in zip(examples, placements)]),
        mirrored_time_ids=torch.cat([models.time_ids(e.size[::-1], p.mirrored_crop_top_left, p.bucket[::-1], 1) for e, p in zip(examples, placements)]),
        by_bucket=[torch.tensor([i for i, p in enumerate(placements) if p.bucket == side]) for side in sorted({p.bucket for p in placements})],
    )


def latent_encoder(base: models.BaseModel, data: TrainingData, cfg: configs.Frozen, first_batch: int) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """(batch indices (one bucket), which of them are mirrored) -> that batch's latents (B, 4, H/f, W/f), sampled from the VAE's distribution.

    Cached (memory or disk), every image goes through the VAE once before
    training, and once more mirrored with data.flip_aug. Off, each batch is
    encoded as it comes, its pixels prepared ahead by
    training.dataloader_workers processes in the same batch order. The samples
    are seeded from the run's seed (and the batch), not drawn from the noise
    generator, so a resumed run gets the same latents.
    """
    training = cfg.training
    cache = LatentCache(base, training.cache_latents)
    if training.cache_latents == "off":
        batches = pixel_batches(data.examples, data.placements, data.by_bucket, training.batch_size, training.seed, first_batch, training.dataloader_workers)
        batch = itertools.count(first_batch)

        def encode(idx: torch.Tensor, flips: torch.Tensor) -> torch.Tensor:
            loaded, pixels = next(batches)
            assert torch.equal(loaded, idx), "the pixel loader and the loop disagree on batch order"
            pixels = torch.where(flips[:, None, None, None], pixels.flip(-1), pixels)  # (B, 3, H, W)
            return cache.latents_of_pixels(pixels, torch.Generator().manual_seed(training.seed * 1_000_003 + next(batch)))

        return encode
    generator = torch.Generator().manual_seed(training.seed)
    latents = cache.latents(data.examples, data.placements, generator)  # N x (4, H/f, W/f), by bucket
    mirror = cache.latents(data.examples, data.placements, generator, mirrored=True) if cfg.data.flip_aug else latents
    return lambda idx, flips: torch.stack([mirror[i] if flip else latents[i] for i, flip in zip(idx.tolist(), flips.tolist())])


def prompt_encoder(base: models.BaseModel, data: TrainingData, cfg: configs.Frozen, first_batch: int) -> Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor | None]]:
    """Batch indices -> the text conditioning of that batch's captions: (prompt_embeds (B, T, D), SDXL's pooled (B, P) or None).

    Each call is the next batch from first_batch, as the loop makes them: its
    captions are drawn from (seed, batch, image) with data.shuffle_caption
    and data.caption_dropout. Cached (training.cache_text_encoder_outputs),
    every caption the run can draw is encoded before training and looked up;
    off, each batch is encoded as it comes, with gradients when the text
    encoders or word embeddings train (method.train_text_encoder, embedding_words).
    """
    options, seed, batches = captions.CaptionOptions.of_config(cfg.data), cfg.training.seed, itertools.count(first_batch)

    def captions_of(idx: torch.Tensor) -> list[str]:
        batch = next(batches)
        return [captions.at_step(data.examples[i].caption, options, seed, batch, i) for i in idx.tolist()]

    mode = text_cache.mode(cfg)
    if mode == "off":

        def encode(idx: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
            with torch.set_grad_enabled(cfg.method.train_text_encoder or bool(cfg.method.embedding_words)):
                return models.encode_prompts(base, captions_of(idx), cfg.training.clip_skip, cfg.training.max_token_length)

        return encode
    cache = text_cache.TextCache(base, mode, cfg.training.clip_skip, cfg.training.max_token_length)
    cache.fill(sorted(set(data.captions)) + ([""] if options.dropout else []))  # a dropped caption is the empty one
    return lambda idx: cache(captions_of(idx))


def due(step: int, every: int, total: int) -> bool:
    """Every N steps, counting step 0 (the base model) and the last step; never when every is 0."""
    return every > 0 and (step % every == 0 or step == total)


def total_steps(training: configs.Frozen, bucket_sizes: list[int], processes: int = 1) -> int:
    """Optimizer steps of the run: max_steps, or epochs counted as sd-scripts counts them.

    An epoch is ceil(n / batch) batches of each bucket of n images (one bucket
    without data.buckets). With N processes a batch is N × batch_size images,
    and the count is one process's with N× the batch (sd-scripts instead
    stretches integer warmup by N).
    """
    if training.epochs is None:
        return training.max_steps
    batches_per_epoch = sum(math.ceil(n / (training.batch_size * processes)) for n in bucket_sizes)
    return training.epochs * math.ceil(batches_per_epoch / training.gradient_accumulation)


def memory() -> dict:
    """Process RSS, and on CUDA the most memory tensors have held so far."""
    out = {"rss_bytes": psutil.Process().memory_info().rss}
    if torch.cuda.is_available():
        out["cuda_max_allocated_bytes"] = torch.cuda.max_memory_allocated()
    return out


def train(
    config: dict,
    run_dir: Path,
    events: Events,
    load_model: Callable[[str, torch.device, torch.dtype], models.BaseModel] = models.load,
    processes: Processes = Processes(),
) -> None:
    """Train one adapter as `config` says, report through `events`, save to run_dir/adapter.safetensors.

    Never raises: any error becomes events.failed. `load_model` lets a
    long-lived caller hand in base models it keeps loaded between runs.
    `processes`: this one's share of a multi-process run (trainer/distributed.py);
    only the main process writes samples, states and the adapter.
    """
    completed = 0  # optimizer steps done
    adapter = offload = training = None
    try:
        cfg = configs.load(config)
        training = cfg.training
        seed_everything(training.seed)
        torch.set_num_threads(cpu_threads(training.cpu_threads))  # set per run: the worker outlives runs
        generator = torch.Generator().manual_seed(training.seed)  # noise and timesteps
        device = pick_device()

        # 1. data: every image and caption read and checked before anything heavy loads
        data = prepare_data(cfg.data)
        # 2. models: the frozen base, stored in 16 bits on a GPU with mixed precision
        precision = Precision(training.mixed_precision, device, training.full_bf16)
        base = load_model(cfg.model, device, precision.frozen_dtype)
        models.check_clip_skip(base, training.clip_skip)
        noise_scheduler = base.noise_scheduler
        prediction_type = models.prediction_type(base, training.prediction_type)
        # The worker keeps models loaded between runs: set, never assume, per-run switches.
        if training.gradient_checkpointing:
            base.unet.enable_gradient_checkpointing()
        else:
            base.unet.disable_gradient_checkpointing()
        # 3. method: the trainable adapter on the UNet (and the text encoders, if they train; and the words of
        #    method.embedding_words, whose vectors the text encoders then read)
        adapter = METHODS[cfg.method.name].create(base, cfg.method)
        if adapter.embeddings:
            adapter.embeddings.check_used(data.captions)
        predict = training_unet(base.unet, training, device)  # the UNet as the loop calls it: compiled, if training.torch_compile
        if training.scale_weight_norms is not None:
            adapter.check_max_norm()
        # watching: sample images and evaluator scores while it trains (off unless sample/eval.every is set);
        # retention counts against the base model's own score, so take it now if trained weights are about to load
        pipe = sampling.pipeline(base, cfg.sample.sampler)
        own_encoding = training.clip_skip > 1 or training.max_token_length > models.TOKENS_PER_WINDOW
        encode_samples = (lambda texts: models.encode_prompts(base, texts, training.clip_skip, training.max_token_length)) if own_encoding else None  # as it trains
        judge = evaluation.judge(pipe, cfg) if cfg.eval.every else None
        if judge and processes.is_main and (cfg.method.start_from or training.resume):
            with precision.sampling():
                judge.fix_baseline()
        # the adapter starts from zero (the identity), or from a trained one
        started_from = adapter.start_from(adapter_to_start_from(cfg.method.start_from, run_dir.parent)) if cfg.method.start_from else None
        params = precision.store(adapter.parameters())  # float32, or bf16 with training.full_bf16
        processes.same_start(params)
        param_groups = adapter.param_groups(cfg.optimizer.lr)  # [{"name": "unet" | "text_encoder" (| ", LoRA+ up"), "params", "lr"}]
        # 4. optimizer, and the schedules it allows
        optimizer_kind = OPTIMIZERS[cfg.optimizer.name]
        optimizer_kind.check_schedule(cfg.optimizer, cfg.scheduler)
        optimizer = optimizer_kind.create(param_groups, cfg.optimizer)
        # 5. schedule: the LR multiplier per optimizer step, over a run whose length may depend on the data
        total = total_steps(training, [len(bucket) for bucket in data.by_bucket], processes.count)
        lr_scheduler = SCHEDULERS[cfg.scheduler.name].create(optimizer, cfg.scheduler, total)
        resumable = {"adapter": adapter, "optimizer": optimizer, "lr_scheduler": lr_scheduler, "scaler": precision}
        if training.resume:
            completed = checkpoint.load(checkpoint.locate(training.resume, run_dir.parent), config=cfg.to_dict(), modules=resumable, generator=generator)

        # 6. model inputs: latents and text conditioning, cached where the encoders are frozen
        encode_latents = latent_encoder(base, data, cfg, first_batch=completed * training.gradient_accumulation)
        encode_prompts = prompt_encoder(base, data, cfg, first_batch=completed * training.gradient_accumulation)
        offload = Offload(cached_encoders(base, training.cache_latents, text_cache.mode(cfg)), device)  # what the caches made idle waits on the CPU until sampling
        offload.park()

        @contextmanager
        def as_saved():
            """The adapter as its file holds it, for sampling and saving: schedule-free's averaged weights, DyLoRA at full rank."""
            optimizer_kind.eval_mode(optimizer)
            adapter.eval()
            try:
                yield
            finally:
                adapter.train()
                optimizer_kind.train_mode(optimizer)

        def save_adapter(file: str = ADAPTER_FILE) -> None:
            if processes.is_main:
                (run_dir / file).parent.mkdir(exist_ok=True)
                metadata = run_metadata(cfg, base, param_groups, steps=completed, seconds=time.perf_counter() - start, buckets=data.bucket_counts, regularization=data.regularization)
                adapter.save(run_dir / file, metadata, training.save_precision)

        def save_state() -> None:
            """A resumable state, and the adapter as of this step: if the run fails later, this one is kept."""
            if not processes.is_main:
                return
            checkpoint.save(run_dir, step=completed, config=cfg.to_dict(), modules=resumable, generator=generator)
            with as_saved():
                save_adapter()

        # 7. watching: at steps due, sample images and score them (the pipe and judge made in 3)

        def observe(step: int) -> None:
            sample, score = due(step, cfg.sample.every, total), due(step, cfg.eval.every, total)
            if not (sample or score) or not processes.is_main:
                return
            with offload.restored(), as_saved(), precision.sampling():
                if sample:
                    events.sample(step=step, images=sampling.sample(pipe, cfg.sample, cfg.data.resolution, run_dir, step, encode_samples))
                if score:
                    events.eval(step=step, **judge.score())

        events.started(total=total, trainable_params=sum(p.numel() for p in params), device=str(device), resumed_from=completed or None, lr_groups=[g["name"] for g in param_groups], started_from=started_from, compiling=training.dynamo_backend if training.torch_compile else None)
        start = time.perf_counter()
        optimizer_kind.train_mode(optimizer)  # schedule-free: train on its training iterate
        observe(completed)
        while completed < total:
            if events.should_stop():
                save_state()
                events.cancelled(step=completed)
                return
            step_start = time.perf_counter()
            step_loss = 0.0
            for micro in range(training.gradient_accumulation):  # batches summed into one optimizer step
                # batch: the global batch (every process's images) and this process's share; noise and
                # timesteps are drawn for the global batch and shared out alike, so N processes train as one
                batch = completed * training.gradient_accumulation + micro
                global_idx = batch_indices(batch, data.by_bucket, training.batch_size * processes.count, training.seed)
                idx = processes.share(global_idx)  # (B,)
                # flips: which of them are seen mirrored left to right this time (data.flip_aug)
                flips = mirrored(idx, batch, training.seed) if cfg.data.flip_aug else torch.zeros(len(idx), dtype=torch.bool)  # (B,)
                # latents: VAE encodings of this batch's images
                latents = encode_latents(idx, flips).to(device)  # (B, 4, h, w)
                # noise: what the UNet learns to predict (noise.py: with the offset and multi-resolution noise, if set)
                global_shape = (len(global_idx), *latents.shape[1:])
                noise = processes.share(noises.target(global_shape, training, generator)).to(device)  # (B, 4, h, w)
                # timesteps: uniform over the training schedule (or training.min_timestep to max_timestep)
                timesteps = processes.share(noises.draw_timesteps(len(global_idx), training, noise_scheduler.config.num_train_timesteps, generator)).to(device)  # (B,)
                # add_noise: the forward process q(x_t | x_0); input perturbation (if set) noises the input only, not the target
                perturbation = noises.input_perturbation(global_shape, training.ip_noise_gamma, generator)  # (B, 4, h, w) or None
                input_noise = noise if perturbation is None else noise + processes.share(perturbation).to(device)
                noisy = noise_scheduler.add_noise(latents, input_noise, timesteps)  # (B, 4, h, w)
                # predict: the UNet with the adapter, conditioned on text (and SDXL's pooled text and size/crop ids)
                with precision.autocast():
                    prompt_embeds, pooled_embeds = encode_prompts(idx)  # (B, T, D), (B, P) or None
                    pred = predict(noisy, timesteps, **base.unet_conditioning(prompt_embeds, pooled_embeds, data.time_ids_of(idx, flips))).sample  # (B, 4, h, w)
                # target: the noise itself (epsilon), or the velocity alpha_t * noise - sigma_t * x_0 (v-prediction)
                target = noise if prediction_type == "epsilon" else noise_scheduler.get_velocity(latents, noise, timesteps)
                # loss: per image, mean squared error or training.loss_type (losses.py; a regularization image's
                # times data.prior_loss_weight), optionally weighted by its timestep's SNR, then over the batch
                loss = losses.per_image(pred, target, timesteps, training, noise_scheduler) * data.loss_weights[idx].to(device)  # (B,)
                weights = losses.snr_weights(noise_scheduler, timesteps, training, prediction_type)
                loss = (loss * weights).mean() if weights is not None else loss.mean()
                if not math.isfinite(loss.item()):
                    raise FloatingPointError(f"the loss became {loss.item()} at step {completed + 1}; lower optimizer.lr or use bf16 instead of fp16")
                # backward: gradients of this batch's share of the step
                precision.backward(loss / training.gradient_accumulation)
                step_loss += loss.item() / training.gradient_accumulation
            # average: every process's gradients become the global batch's (a no-op for one process)
            processes.average_gradients(params)
            step_loss = processes.mean(step_loss)
            # clip: above training.max_grad_norm, all gradients scale down together (the norm reported is before)
            grad_norm = precision.unscale_measure_clip(optimizer, params, training.max_grad_norm)
            # step: the update uses these LRs; read them before the scheduler moves on
            lrs = [group["lr"] for group in optimizer.param_groups]
            precision.step(optimizer)
            optimizer.zero_grad(set_to_none=True)
            # max-norm: modules whose update grew past training.scale_weight_norms are scaled back to it
            if training.scale_weight_norms is not None:
                adapter.apply_max_norm(training.scale_weight_norms)
            lr_scheduler.step()
            completed += 1
            step_seconds = time.perf_counter() - step_start
            events.step(
                step=completed,
                total=total,
                loss=step_loss,
                lr=lrs[0],
                lrs=lrs,
                effective_lrs=optimizer_kind.effective_lr(optimizer),
                grad_norm=grad_norm,
                seconds=time.perf_counter() - start,
                step_seconds=step_seconds,
                images_per_second=training.batch_size * training.gradient_accumulation * processes.count / step_seconds,
                **memory(),
            )
            observe(completed)
            if training.save_every and completed % training.save_every == 0 and completed < total:
                with as_saved():
                    save_adapter(saved_adapter(completed))
            if training.save_state_every and completed % training.save_state_every == 0:
                save_state()

        with as_saved():
            save_adapter()
            if adapter.embeddings and processes.is_main:
                adapter.save_words(run_dir / WORD_FILES)
            events.finished(step=completed, seconds=time.perf_counter() - start, adapter=ADAPTER_FILE)
    except Exception as error:  # the caller is a long-lived worker: report, never crash it
        events.failed(error=str(error) if isinstance(error, configs.ConfigError) else f"{type(error).__name__}: {error}", step=completed or None)
    finally:
        if training is not None:
            release(training)
        if adapter is not None:
            adapter.remove()
        if offload is not None:
            offload.restore()  # the worker keeps the base model for the next run, which may cache nothing
