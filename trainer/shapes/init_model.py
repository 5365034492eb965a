"""Write models/shapes-xl with random weights from a fixed seed.

    python -m trainer.shapes.init_model [--out models/shapes-xl] [--seed 0]

The folder is a diffusers StableDiffusionXLPipeline folder, loadable offline
with `StableDiffusionXLPipeline.from_pretrained`. Pretraining (a later script)
starts from these same configs.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import numpy as np
import torch
from diffusers import StableDiffusionXLPipeline

from trainer import shapes
from trainer.shapes import architecture

REPO = Path(__file__).resolve().parents[2]


@torch.no_grad()
def latent_scaling_factor(vae, seed: int) -> float:
    """1 / std of the VAE's latents over shapes images: scaled latents get unit variance.

    This is how Stable Diffusion's 0.18215 (and SDXL's 0.13025) were chosen.
    """
    images = [np.asarray(image, dtype=np.float32) / 127.5 - 1 for image, _ in shapes.generate(64, seed, 64)]
    pixels = torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2)  # (B, 3, 64, 64) in [-1, 1]
    latents = vae.encode(pixels).latent_dist.sample()  # (B, 4, 16, 16)
    return float(1 / latents.std())


def build(out: Path, seed: int) -> StableDiffusionXLPipeline:
    shutil.rmtree(out, ignore_errors=True)  # no stale files from an older architecture
    torch.manual_seed(seed)
    # SDXL's two tokenizers share one BPE vocabulary; so do ours.
    tokenizer = architecture.write_tokenizer(out / "tokenizer")
    tokenizer_2 = architecture.write_tokenizer(out / "tokenizer_2")
    text_encoder, text_encoder_2 = architecture.text_encoders(tokenizer)
    vae = architecture.vae()
    vae.register_to_config(scaling_factor=latent_scaling_factor(vae, seed))
    pipe = StableDiffusionXLPipeline(
        vae=vae,
        text_encoder=text_encoder,
        text_encoder_2=text_encoder_2,
        tokenizer=tokenizer,
        tokenizer_2=tokenizer_2,
        unet=architecture.unet(),
        scheduler=architecture.scheduler(),
    )
    pipe.save_pretrained(out, safe_serialization=True)
    return pipe


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "models" / "shapes-xl")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    pipe = build(args.out, args.seed)
    for name in ("unet", "vae", "text_encoder", "text_encoder_2"):
        count = sum(p.numel() for p in getattr(pipe, name).parameters())
        print(f"{name}: {count:,} parameters")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
