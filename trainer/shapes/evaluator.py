"""The evaluator: a small CNN that names an image's shape, colour and texture.

Trained on the generator's own labels (held-out concepts included, so it can
tell when a fine-tune has learned them), it turns samples into numbers:
`score` is the fraction of images whose shape, colour (and texture) match the
scene their prompt described. Train it with

    python -m trainer.shapes.evaluator --out models/shapes-evaluator [--seed 0]
"""

from __future__ import annotations

import argparse
import json
import random
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageFilter
from safetensors.torch import load_file, save_file
from torch import nn

from trainer import shapes

REPO = Path(__file__).resolve().parents[2]
HEADS = {"shape": shapes.SHAPES, "color": tuple(sorted(shapes.COLORS)), "texture": shapes.TEXTURES}
WEIGHTS, CONFIG = "model.safetensors", "config.json"


class Evaluator(nn.Module):
    def __init__(self, width: int = 32):
        super().__init__()

        def block(cin: int, cout: int) -> nn.Sequential:
            return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU(), nn.MaxPool2d(2))

        self.width = width
        self.features = nn.Sequential(block(3, width), block(width, width * 2), block(width * 2, width * 2), block(width * 2, width * 4), nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.heads = nn.ModuleDict({name: nn.Linear(width * 4, len(labels)) for name, labels in HEADS.items()})

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        features = self.features(x)  # (B, 4 * width)
        return {name: head(features) for name, head in self.heads.items()}  # name -> (B, classes)


def to_tensor(images: list[Image.Image]) -> torch.Tensor:
    return torch.from_numpy(np.stack([np.asarray(im.convert("RGB").resize((64, 64)), dtype=np.float32) / 255 for im in images])).permute(0, 3, 1, 2)


def load(folder: Path | str = REPO / "models" / "shapes-evaluator") -> Evaluator:
    folder = Path(folder)
    if not (folder / WEIGHTS).is_file():
        raise FileNotFoundError(f"no evaluator at {folder} (train one: python -m trainer.shapes.evaluator --out {folder})")
    config = json.loads((folder / CONFIG).read_text())
    if config["heads"] != {k: list(v) for k, v in HEADS.items()}:
        raise ValueError(f"evaluator at {folder} was trained for other labels; retrain it")
    model = Evaluator(config["width"])
    model.load_state_dict(load_file(folder / WEIGHTS))
    return model.eval()


@torch.no_grad()
def classify(model: Evaluator, images: list[Image.Image]) -> list[dict[str, str]]:
    logits = model(to_tensor(images))
    picks = {name: out.argmax(dim=1).tolist() for name, out in logits.items()}
    return [{name: HEADS[name][picks[name][i]] for name in HEADS} for i in range(len(images))]


def matches(label: dict[str, str], scene: shapes.Scene, heads: tuple[str, ...] = ("shape", "color")) -> bool:
    return all(label[head] == getattr(scene, head) for head in heads)


def score(model: Evaluator, images: list[Image.Image], scenes: list[shapes.Scene], heads: tuple[str, ...] = ("shape", "color")) -> float:
    """Fraction of images whose `heads` match the scene they were drawn for."""
    return sum(matches(label, scene, heads) for label, scene in zip(classify(model, images), scenes)) / len(scenes)


# ---- training ---------------------------------------------------------------


def augment(image: Image.Image, rng: random.Random) -> Image.Image:
    """Soften like a diffusion sample: blur and noise, so clean training images still teach it to read samples."""
    if rng.random() < 0.5:
        image = image.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 1.5)))
    return image


def labelled(count: int, seed: int, resolution: int = 64) -> tuple[list[Image.Image], dict[str, torch.Tensor], list[shapes.Scene]]:
    scenes = shapes.scenes(count, seed, shapes.SHAPES, shapes.TEXTURES)
    images = [shapes.render(scene, resolution) for scene in scenes]
    labels = {name: torch.tensor([labels.index(getattr(s, name)) for s in scenes]) for name, labels in HEADS.items()}
    return images, labels, scenes


def train(out: Path, seed: int, count: int, epochs: int, batch: int = 64) -> Evaluator:
    torch.manual_seed(seed)
    rng = random.Random(seed)
    images, labels, _ = labelled(count, seed)
    model = Evaluator()
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=1e-4)
    steps = epochs * (count // batch)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=3e-3, total_steps=steps)
    model.train()
    for step in range(steps):
        idx = torch.randint(0, count, (batch,))
        x = to_tensor([augment(images[i], rng) for i in idx.tolist()])
        x = x + 0.03 * torch.randn_like(x)
        logits = model(x)
        loss = sum(F.cross_entropy(logits[name], labels[name][idx]) for name in HEADS)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        schedule.step()
        if step % 100 == 0:
            print(f"step {step}/{steps} loss {loss.item():.4f}", flush=True)
    model.eval()
    out.mkdir(parents=True, exist_ok=True)
    save_file(model.state_dict(), out / WEIGHTS)
    (out / CONFIG).write_text(json.dumps({"width": model.width, "heads": {k: list(v) for k, v in HEADS.items()}, "trained_on": {"seed": seed, "images": count, "epochs": epochs}}, indent=1) + "\n")
    return model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "models" / "shapes-evaluator")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--images", type=int, default=6000)
    parser.add_argument("--epochs", type=int, default=8)
    args = parser.parse_args()
    start = time.perf_counter()
    model = train(args.out, args.seed, args.images, args.epochs)
    images, _, scenes = labelled(1000, args.seed + 1)
    accuracy = {head: score(model, images, scenes, (head,)) for head in HEADS}
    print(f"trained in {time.perf_counter() - start:.0f}s; accuracy on 1000 fresh images: {accuracy}")


if __name__ == "__main__":
    main()
