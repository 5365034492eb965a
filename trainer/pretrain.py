"""Pretrain shapes-xl from scratch on the shapes world's base concepts.

    python -m trainer.pretrain --out models/shapes-xl --seed 0 [--device cuda] [--vae-steps N] [--unet-steps N] ...
    python -m trainer.pretrain --init models/shapes-xl --out DIR --unet-steps N --unet-lr 3e-4 ...   # train on

Two phases, as Stable Diffusion was built:
1. the VAE learns to compress 64x64 images into 16x16x4 latents (L1 and squared
   reconstruction error plus a small KL term); its scaling_factor is then set from the latents' std;
2. the UNet and both text encoders learn to denoise those latents (epsilon
   prediction, min-SNR weighting), conditioned on the captions and SDXL's size/crop
   ids; 10% of captions are dropped (zero embeddings, as StableDiffusionXLPipeline
   uses for an empty negative prompt) so classifier-free guidance works.

With --init, an already pretrained shapes-xl is loaded instead of built and only
phase 2 runs: its VAE and scaling factor are kept, so the latents keep their meaning;
--vae-steps N with --init trains its VAE on first (the UNet then has to follow
the latents' new meaning). After phase 1 the evaluator reads true images passed
through the VAE: no UNet can draw better than that ceiling.
With --eval-every N, the EMA weights are sampled and scored by the evaluator every
N UNet steps and at the end, and the best-scored are saved, not the last.

Held-out concepts (star, striped) never appear. Everything is drawn from --seed.
Curves go to <out>/pretrain/curves.jsonl (one JSON line per logged step) and
curves.png; the weights are written as a diffusers StableDiffusionXLPipeline folder.
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing
import time
from contextlib import nullcontext
from pathlib import Path
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F
from diffusers import DDPMScheduler, StableDiffusionXLPipeline
from diffusers.optimization import get_cosine_schedule_with_warmup
from diffusers.training_utils import EMAModel, compute_snr

from trainer import evaluation, models, sampling, shapes
from trainer.shapes import architecture, evaluator
from trainer.shapes.concepts import CONCEPTS

REPO = Path(__file__).resolve().parents[1]
CAPTION_DROPOUT = 0.1
MIN_SNR_GAMMA = 5.0
KL_WEIGHT = 1e-6  # as Stable Diffusion's VAE: just enough to keep latents bounded
# The prompts that pick the best weights (--eval-every): not evaluation.BASE_REPORT_SEED's, which report the score
CHECKPOINT_SEED = 778


def render(scene: shapes.Scene, resolution: int) -> np.ndarray:
    return np.asarray(shapes.render(scene, resolution), dtype=np.uint8)


def dataset(count: int, seed: int, resolution: int, workers: int) -> tuple[torch.Tensor, list[str]]:
    """`count` base-concept images as one uint8 tensor (N, 3, H, W), drawn in parallel, and their captions."""
    scenes = CONCEPTS["base"].scenes(count, seed)
    jobs = [(scene, resolution) for scene in scenes]
    if workers == 1:
        arrays = [render(*job) for job in jobs]
    else:
        with multiprocessing.get_context("spawn").Pool(workers) as pool:
            arrays = pool.starmap(render, jobs, chunksize=64)
    return torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2).contiguous(), [scene.caption for scene in scenes]


def to_pixels(batch: torch.Tensor) -> torch.Tensor:
    return batch.float() / 127.5 - 1  # uint8 -> [-1, 1], the VAE's range


class Log:
    """Curves as JSON lines, flushed as they come, echoed every `echo` steps."""

    def __init__(self, path: Path, echo: int):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.file, self.echo, self.start = path.open("w"), echo, time.perf_counter()

    def __call__(self, phase: str, step: int, **values: float) -> None:
        record = {"phase": phase, "step": step, "seconds": round(time.perf_counter() - self.start, 2), **{k: round(v, 6) for k, v in values.items()}}
        self.file.write(json.dumps(record) + "\n")
        self.file.flush()
        if step % self.echo == 0:
            print(json.dumps(record), flush=True)


def train_vae(vae, images: torch.Tensor, steps: int, args, device, generator: torch.Generator, log: Log) -> None:
    optimizer = torch.optim.AdamW(vae.parameters(), lr=args.vae_lr, weight_decay=0.0)
    schedule = get_cosine_schedule_with_warmup(optimizer, steps // 20, steps)
    vae.train()
    for step in range(1, steps + 1):
        idx = torch.randint(0, len(images), (args.vae_batch,), generator=generator)
        x = to_pixels(images[idx].to(device))  # (B, 3, H, W)
        with autocast(device):
            posterior = vae.encode(x).latent_dist
            recon = vae.decode(posterior.sample()).sample  # (B, 3, H, W)
        mse = F.mse_loss(recon.float(), x)
        # L1 as well (Stable Diffusion's autoencoder was trained on L1): squared errors let thin outlines and small
        # shapes blur into their background, since most pixels are background; MSE alone left a VAE whose round
        # trips the evaluator read right only 69% of the time (PRETRAIN.md).
        l1 = F.l1_loss(recon.float(), x)
        kl = posterior.kl().mean() / x[0].numel()  # per pixel value, so KL_WEIGHT means the same at any size
        loss = l1 + mse + KL_WEIGHT * kl
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        schedule.step()
        log("vae", step, loss=loss.item(), l1=l1.item(), mse=mse.item(), kl=kl.item())
    vae.eval()


@torch.no_grad()
def latent_moments(vae, images: torch.Tensor, device, batch: int = 512) -> torch.Tensor:
    """The VAE posterior's mean and logvar for every image: (N, 8, h, w); a training step samples from them."""
    return torch.cat([vae.encode(to_pixels(images[i : i + batch].to(device))).latent_dist.parameters.float() for i in range(0, len(images), batch)])


def sample_latents(moments: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    mean, logvar = moments.chunk(2, dim=1)
    noise = torch.randn(mean.shape, generator=generator, device="cpu").to(mean.device)
    return mean + (0.5 * logvar.clamp(-30, 20)).exp() * noise  # (B, 4, h, w)


def encode_text(text_encoder, text_encoder_2, ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """models.encode_prompts with gradients and pre-tokenized ids (both tokenizers share one vocabulary)."""
    hidden_1 = text_encoder(ids, output_hidden_states=True).hidden_states[-2]  # (B, T, D_1)
    out_2 = text_encoder_2(ids, output_hidden_states=True)
    return torch.cat([hidden_1, out_2.hidden_states[-2]], dim=-1), out_2.text_embeds  # (B, T, D_1 + D_2), (B, P)


def train_unet(pipe: StableDiffusionXLPipeline, moments: torch.Tensor, ids: torch.Tensor, args, device, generator: torch.Generator, log: Log, score: Callable[[], float] | None = None) -> None:
    """With `score` (and args.eval_every), the EMA weights are scored every eval_every steps and at the end,
    and the best of them are kept, not the last: a lower loss has not meant better samples here (PRETRAIN.md)."""
    unet, text_encoder, text_encoder_2 = pipe.unet, pipe.text_encoder, pipe.text_encoder_2
    modules = (unet, text_encoder, text_encoder_2)
    params = [p for module in modules for p in module.parameters()]
    # No weight decay: the held-out words' embeddings get no gradient and must stay as initialised, not shrink.
    optimizer = torch.optim.AdamW(params, lr=args.unet_lr, weight_decay=0.0)
    schedule = get_cosine_schedule_with_warmup(optimizer, args.unet_steps // 20, args.unet_steps)
    ema = EMAModel(params, decay=0.9999, use_ema_warmup=True)  # decay grows with the step: fits short and long runs
    noise_scheduler = DDPMScheduler.from_config(pipe.scheduler.config)
    noise_scheduler.alphas_cumprod = noise_scheduler.alphas_cumprod.to(device)
    scale = pipe.vae.config.scaling_factor
    res = args.resolution
    best = Best()
    for module in modules:
        module.train()
    for step in range(1, args.unet_steps + 1):
        idx = torch.randint(0, len(moments), (args.batch,), generator=generator)
        # latents: a fresh sample of each image's VAE posterior, scaled to unit variance
        latents = sample_latents(moments[idx], generator) * scale  # (B, 4, h, w)
        noise = torch.randn(latents.shape, generator=generator).to(device)
        timesteps = torch.randint(0, noise_scheduler.config.num_train_timesteps, (args.batch,), generator=generator).to(device)
        noisy = noise_scheduler.add_noise(latents, noise, timesteps)
        # Caption dropout: some rows get the unconditional (all-zero) text embeddings.
        keep = (torch.rand(args.batch, generator=generator) >= CAPTION_DROPOUT).float().to(device)
        time_ids = models.time_ids((res, res), (0, 0), (res, res), args.batch).to(device)
        with autocast(device):
            embeds, pooled = encode_text(text_encoder, text_encoder_2, ids[idx])
            pred = unet(
                noisy,
                timesteps,
                encoder_hidden_states=embeds * keep[:, None, None],
                added_cond_kwargs={"text_embeds": pooled * keep[:, None], "time_ids": time_ids},
            ).sample
        # Min-SNR weighting: easy, low-noise timesteps stop dominating the loss (Hang et al. 2023).
        snr = compute_snr(noise_scheduler, timesteps)
        weights = snr.clamp(max=MIN_SNR_GAMMA) / snr
        loss = (F.mse_loss(pred.float(), noise, reduction="none").mean(dim=(1, 2, 3)) * weights).mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optimizer.step()
        schedule.step()
        ema.step(params)
        log("unet", step, loss=loss.item(), lr=schedule.get_last_lr()[0])
        if score and (step % args.eval_every == 0 or step == args.unet_steps):
            ema.store(params)
            ema.copy_to(params)
            best.consider(step, scored(modules, score), modules, log)
            ema.restore(params)
    ema.copy_to(params)
    for module in modules:
        module.eval()
    best.restore(modules)


def scored(modules, score: Callable[[], float]) -> float:
    for module in modules:
        module.eval()
    try:
        return score()
    finally:
        for module in modules:
            module.train()


class Best:
    """The best-scored weights so far, kept on the CPU."""

    def __init__(self):
        self.step, self.score, self.weights = None, -1.0, None

    def consider(self, step: int, score: float, modules, log: Log) -> None:
        log("eval", step, score=score)
        print(f"step {step}: base prompts drawn right (shape and colour) {score:.3f}", flush=True)
        if score > self.score:
            self.step, self.score = step, score
            self.weights = [{k: v.detach().to("cpu", copy=True) for k, v in module.state_dict().items()} for module in modules]

    def restore(self, modules) -> None:
        if self.weights is None:
            return
        for module, weights in zip(modules, self.weights):
            module.load_state_dict(weights)
        print(f"kept the weights of step {self.step} (score {self.score:.3f})", flush=True)


def checkpoint_scorer(pipe: StableDiffusionXLPipeline, judge: evaluator.Evaluator, prompts: int, resolution: int) -> Callable[[], float]:
    """A score of the pipe's weights as they are when called: base prompts drawn right (shape and colour), sampled
    as trainer.evaluation samples (20 Euler steps, CFG 5). The pipeline shares the pipe's modules, so it is made once."""
    euler = StableDiffusionXLPipeline(**{**pipe.components, "scheduler": sampling.SAMPLERS["euler"].scheduler.from_config(pipe.scheduler.config)})
    euler.set_progress_bar_config(disable=True)
    scenes = CONCEPTS["base"].scenes(prompts, seed=CHECKPOINT_SEED)
    return lambda: evaluator.score(judge, evaluation.draw_scenes(euler, scenes, 20, 5.0, resolution), scenes)


def autocast(device: torch.device):
    return torch.autocast("cuda", dtype=torch.bfloat16) if device.type == "cuda" else nullcontext()


def build(args) -> StableDiffusionXLPipeline:
    """The untrained shapes-xl, from the architecture's configs."""
    torch.manual_seed(args.seed)
    tokenizer = architecture.write_tokenizer(args.out / "tokenizer")
    tokenizer_2 = architecture.write_tokenizer(args.out / "tokenizer_2")
    text_encoder, text_encoder_2 = architecture.text_encoders(tokenizer)
    return StableDiffusionXLPipeline(
        vae=architecture.vae(),
        text_encoder=text_encoder,
        text_encoder_2=text_encoder_2,
        tokenizer=tokenizer,
        tokenizer_2=tokenizer_2,
        unet=architecture.unet(),
        scheduler=architecture.scheduler(),
    )


def plot_curves(curves: Path, png: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    records = [json.loads(line) for line in curves.read_text().splitlines()]
    panels = [(phase, key) for phase, key in (("vae", "mse"), ("unet", "loss")) if any(r["phase"] == phase for r in records)]
    fig, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels), 3.5), squeeze=False)
    for ax, (phase, key) in zip(axes[0], panels):
        rows = [r for r in records if r["phase"] == phase]
        steps, values = np.array([r["step"] for r in rows]), np.array([r[key] for r in rows])
        window = max(1, len(values) // 100)
        smooth = np.convolve(values, np.ones(window) / window, mode="valid")
        ax.plot(steps, values, alpha=0.25, lw=0.5)
        ax.plot(steps[window - 1 :], smooth, lw=1.5)
        ax.set(title=f"{phase}: {key}", xlabel="step", yscale="log")
    fig.tight_layout()
    fig.savefig(png, dpi=100)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "models" / "shapes-xl")
    parser.add_argument("--init", type=Path, help="train on from this pretrained shapes-xl folder (UNet phase only)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--images", type=int, default=20000, help="base-concept images drawn once (there are 3240 distinct scenes)")
    parser.add_argument("--resolution", type=int, default=64)
    parser.add_argument("--batch", type=int, default=512, help="UNet batch")
    parser.add_argument("--vae-batch", type=int, default=128)
    parser.add_argument("--vae-steps", type=int, help="VAE steps (default 3000; with --init 0, which keeps the VAE and so its latents' meaning)")
    parser.add_argument("--vae-lr", type=float, default=1e-3)
    parser.add_argument("--unet-steps", type=int, default=10000)
    parser.add_argument("--unet-lr", type=float, default=1e-3)
    parser.add_argument("--workers", type=int, default=max(1, (multiprocessing.cpu_count() or 1) - 1))
    parser.add_argument("--echo", type=int, default=100, help="print every N steps")
    parser.add_argument("--eval-every", type=int, default=0, help="score the EMA weights every N UNet steps and at the end; keep the best")
    parser.add_argument("--eval-prompts", type=int, default=48, help="base prompts per score (their own seed, not the report's)")
    args = parser.parse_args(argv)
    device = torch.device(args.device)
    torch.backends.cuda.matmul.allow_tf32 = True
    torch.backends.cudnn.allow_tf32 = True

    start = time.perf_counter()
    pipe = StableDiffusionXLPipeline.from_pretrained(args.init) if args.init else build(args)
    pipe.to(device)
    generator = torch.Generator().manual_seed(args.seed)
    images, captions = dataset(args.images, args.seed, args.resolution, args.workers)
    print(f"{len(images)} images drawn in {time.perf_counter() - start:.1f}s", flush=True)
    curves = args.out / "pretrain" / ("curves-continued.jsonl" if args.init else "curves.jsonl")
    log = Log(curves, args.echo)

    # 1. VAE: reconstruction, then the scaling factor that gives its latents unit variance
    vae_steps = args.vae_steps if args.vae_steps is not None else 0 if args.init else 3000
    if vae_steps:
        train_vae(pipe.vae, images, vae_steps, args, device, generator, log)
    moments = latent_moments(pipe.vae, images, device)  # (N, 8, h, w)
    if vae_steps:
        std = sample_latents(moments[:4096]).std().item()
        pipe.vae.register_to_config(scaling_factor=1 / std)
        print(f"vae done at {time.perf_counter() - start:.0f}s; latent std {std:.3f}", flush=True)
    judge = evaluator.load()
    ceiling = evaluation.vae_ceiling(pipe.vae, judge, CONCEPTS["base"].scenes(args.eval_prompts, seed=CHECKPOINT_SEED), args.resolution)
    log("vae-eval", vae_steps, ceiling=ceiling)
    print(f"true images through the VAE read right (shape and colour): {ceiling:.3f}, the most any UNet can reach", flush=True)

    # 2. UNet + text encoders: text-conditioned denoising
    ids = models.token_ids(pipe.tokenizer, captions)[:, 0].to(device)  # one window each
    score = checkpoint_scorer(pipe, judge, args.eval_prompts, args.resolution) if args.eval_every else None
    train_unet(pipe, moments, ids, args, device, generator, log, score)

    pipe.to("cpu")
    pipe.save_pretrained(args.out, safe_serialization=True)
    (args.out / "pretrain" / ("args-continued.json" if args.init else "args.json")).write_text(json.dumps({k: str(v) for k, v in vars(args).items()}, indent=1) + "\n")
    print(f"wrote {args.out} in {time.perf_counter() - start:.0f}s", flush=True)
    try:
        plot_curves(curves, curves.with_suffix(".png"))
    except ImportError:
        print("matplotlib missing: no curves.png (plot later with trainer.pretrain.plot_curves)", flush=True)


if __name__ == "__main__":
    main()
