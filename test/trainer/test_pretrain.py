"""python -m trainer.pretrain at toy scale: a loadable diffusers folder, its curves, reproducible from the seed."""

import json

import torch
from safetensors.torch import load_file

from trainer import models, pretrain

TINY = ["--resolution", "32", "--images", "32", "--batch", "4", "--vae-batch", "4", "--vae-steps", "3", "--unet-steps", "4", "--workers", "1", "--seed", "1"]


def test_tiny_pretraining_writes_a_loadable_model_with_curves(tmp_path):
    pretrain.main(["--out", str(tmp_path / "a"), *TINY])
    model = models.load(str(tmp_path / "a"), torch.device("cpu"))
    assert model.vae.config.scaling_factor != 1.0  # set from the trained VAE's latents
    records = [json.loads(line) for line in (tmp_path / "a" / "pretrain" / "curves.jsonl").read_text().splitlines()]
    assert [(r["phase"], r["step"]) for r in records] == [("vae", s) for s in range(1, 4)] + [("unet", s) for s in range(1, 5)]
    assert (tmp_path / "a" / "pretrain" / "curves.png").stat().st_size > 0

    pretrain.main(["--out", str(tmp_path / "b"), *TINY])
    a, b = (load_file(tmp_path / name / "unet" / "diffusion_pytorch_model.safetensors") for name in ("a", "b"))
    assert all(torch.equal(a[k], b[k]) for k in a)
