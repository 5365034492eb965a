"""Adapter sizes without weights: the layers each method wraps, and what LyCORIS builds on them.

`python -m trainer.golden_sizes` writes two files from the same models:

- core/src/size/layers.json: every layer a method's targets wrap in SDXL, SD1.5
  and shapes-xl (kind, in/out features, kernel, key-name length), grouped by
  shape. The size cell computes parameters and file size from it in the
  browser (core/src/size/), with no weights and no server.
- test/fixtures/adapter-sizes.json: for a grid of method configs, the
  parameters per layer type, tensors and numbers a saved file holds, counted
  on the adapters the trainer's own METHODS[name].create() builds (as train.py
  does), on SDXL and SD1.5 built from their configs with fake (storage-less) tensors and on the real shapes-xl, whose
  totals are exactly the `trainable_params` of a run. test/core/size.test.ts
  requires the TypeScript formulas to reproduce every number;
  test/trainer/test_golden_sizes.py requires this file to still be current.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import torch
from torch._subclasses.fake_tensor import FakeTensorMode
from diffusers import UNet2DConditionModel
from safetensors.torch import save as safetensors_bytes
from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection

from trainer import config as configs
from trainer import models
from trainer.config import ConfigError
from trainer.families import FAMILIES
from trainer.methods import METHODS, components
from trainer.methods.targets import ATTENTION, ATTENTION_AND_CONV, EVERYTHING, Targets
from trainer.methods.word_embeddings import VECTOR_NAMES

REPO = Path(__file__).resolve().parents[1]
CONFIGS = REPO / "models" / "configs"
LAYERS = REPO / "core" / "src" / "size" / "layers.json"
FIXTURE = REPO / "test" / "fixtures" / "adapter-sizes.json"

# The narrowest target set that wraps a layer; each set contains the ones before it.
TARGET_SETS: dict[str, Targets] = {"attention": ATTENTION, "conv": ATTENTION_AND_CONV, "full": EVERYTHING}
# Layer type (the size cell's breakdown) = the class of the nearest enclosing block.
UNET_TYPES = {"Attention": "attention", "FeedForward": "feed-forward", "ResnetBlock2D": "resnet", "Downsample2D": "resnet", "Upsample2D": "resnet"}

GRID: list[dict] = [
    *({"name": "lora", "rank": r} for r in (1, 8, 32, 128)),
    {"name": "lora", "rank": 16, "train_text_encoder": True},
    {"name": "locon", "rank": 8, "conv_rank": 4},
    {"name": "locon", "rank": 32, "conv_rank": 16, "train_text_encoder": True},
    {"name": "loha", "rank": 8, "conv_rank": 4},
    {"name": "loha", "rank": 16, "conv_rank": 8},
    {"name": "lokr", "rank": 8, "conv_rank": 4},
    {"name": "lokr", "rank": 4, "conv_rank": 4, "factor": 8},
    {"name": "lokr", "rank": 4, "conv_rank": 2, "factor": 16, "decompose_both": True},
    {"name": "lokr", "rank": 64, "conv_rank": 64, "factor": 4, "decompose_both": True, "train_text_encoder": True},
    {"name": "dylora", "rank": 8},
    {"name": "dylora", "rank": 32, "block_size": 8},
    {"name": "ia3"},
    {"name": "ia3", "train_text_encoder": True},
    {"name": "oft", "block_size": 4},
    {"name": "oft", "block_size": 8, "rescaled": True},
    {"name": "boft", "block_size": 16},
    {"name": "boft", "block_size": 8, "rescaled": True},
    {"name": "dora", "rank": 8},
    {"name": "dora", "rank": 32, "train_text_encoder": True},
    {"name": "glora", "rank": 8},
    {"name": "glora", "rank": 4, "train_text_encoder": True},
    {"name": "full"},
]

# Trained words need a tokenizer, which only the real shapes-xl has; their vectors' widths for SDXL and SD1.5 come from
# the configs (word_vectors), and test/core/size.test.ts checks the formula on shapes-xl's real files.
WORD_GRID: list[dict] = [
    {"name": "lora", "rank": 8, "embedding_words": ["star"]},
    {"name": "loha", "rank": 4, "train_text_encoder": True, "embedding_words": ["star", "circle"]},
]



@dataclass
class Architecture:
    label: str
    base: SimpleNamespace  # .family, .unet, .text_encoder, .text_encoder_2 (None for SD1.5), as a BaseModel has them
    real: bool  # real weights, so the trainer's parameter count and file bytes are measured too


def shapes_only(label: str, family: str, unet: str, encoders: list[tuple[type, str]]) -> Architecture:
    def read(name: str) -> dict:
        return {k: v for k, v in json.loads((CONFIGS / name).read_text()).items() if not k.startswith("_")}

    # Fake tensors have shapes and no storage, so SDXL's 2.6 billion weights cost nothing; unlike
    # meta tensors they can be copied and normed, which LyCORIS's full and DoRA do to the weights.
    # Only the base is fake: the adapters LyCORIS builds on it are real (small) tensors, as it expects.
    with FakeTensorMode(allow_non_fake_inputs=True):
        built = [UNet2DConditionModel(**read(unet))] + [cls(CLIPTextConfig(**read(file))) for cls, file in encoders]
    base = SimpleNamespace(family=FAMILIES[family], unet=built[0], text_encoder=built[1], text_encoder_2=built[2] if len(built) > 2 else None)
    return Architecture(label, base, real=False)


def architectures() -> dict[str, Architecture]:
    shapes = models.load("shapes-xl", torch.device("cpu"))
    return {
        "sdxl": shapes_only("SDXL", "sdxl", "sdxl-unet.json", [(CLIPTextModel, "sdxl-text-encoder.json"), (CLIPTextModelWithProjection, "sdxl-text-encoder-2.json")]),
        "sd15": shapes_only("SD1.5", "sd15", "sd15-unet.json", [(CLIPTextModel, "sd15-text-encoder.json")]),
        "shapes-xl": Architecture("shapes-xl", shapes, real=True),
    }


def layer_types(model: torch.nn.Module, group: str) -> dict[str, str]:
    """Module path -> layer type, for every module of the model."""
    if group == "text_encoder":
        return {path: "text-encoder" for path, _ in model.named_modules()}
    types = {path: "other" for path, _ in model.named_modules()}
    # named_modules() walks parents first, so the nearest enclosing block is the last to write.
    for path, module in model.named_modules():
        if type(module).__name__ in UNET_TYPES:
            types.update({sub: UNET_TYPES[type(module).__name__] for sub, _ in module.named_modules(prefix=path)})
    return types


def wrapped(model: torch.nn.Module, targets: Targets, group: str) -> list[str]:
    """Paths of the layers LyCORIS wraps for these targets: every Linear and Conv2d (and, with norms, GroupNorm/LayerNorm) inside a target class."""
    classes = set(getattr(targets, group))
    kinds = (torch.nn.Linear, torch.nn.Conv2d) + ((torch.nn.GroupNorm, torch.nn.LayerNorm) if targets.norms else ())
    return [sub for path, module in model.named_modules() if type(module).__name__ in classes for sub, layer in module.named_modules(prefix=path) if isinstance(layer, kinds)]


def shape_of(layer: torch.nn.Module) -> dict:
    if isinstance(layer, torch.nn.Linear):
        return {"op": "linear", "in": layer.in_features, "out": layer.out_features, "kernel": 1, "bias": layer.bias is not None}
    if isinstance(layer, torch.nn.Conv2d):
        return {"op": "conv", "in": layer.in_channels, "out": layer.out_channels, "kernel": layer.kernel_size[0] * layer.kernel_size[1], "bias": layer.bias is not None}
    return {"op": "norm", "in": layer.weight.numel(), "out": layer.weight.numel(), "kernel": 1, "bias": layer.bias is not None}


def layer_table(arch: Architecture) -> list[list]:
    """Rows [component, type, narrowest target set, op, in, out, kernel, bias, count, key chars], one per distinct shape."""
    rows: dict[tuple, list[int]] = {}
    # Every model an adapter may wrap, under the file's key names as Adapter.state_dict writes them.
    for part in components(arch.base, train_text_encoder=True):
        prefix, model, group, names = part.prefix, part.model, part.group, part.names
        types, modules = layer_types(model, group), dict(model.named_modules())
        seen: set[str] = set()
        for set_name, targets in TARGET_SETS.items():
            for path in wrapped(model, targets, group):
                if path in seen:
                    continue
                seen.add(path)
                s = shape_of(modules[path])
                key = names[f"{prefix}_{path}".replace(".", "_")]
                row = rows.setdefault((prefix, types[path], set_name, s["op"], s["in"], s["out"], s["kernel"], int(s["bias"])), [0, 0])
                row[0] += 1
                row[1] += len(key)
    return [[*key, count, chars] for key, (count, chars) in rows.items()]


def count(arch: Architecture, method: dict) -> dict | None:
    """What the trainer's create() builds for this method section: parameters per layer type, and what a saved file holds.

    None where the trainer refuses the config on this architecture (a block size that does not fit its widths).
    """
    cfg = configs.load({"method": method}).method
    try:
        adapter = METHODS[cfg.name].create(arch.base, cfg)
    except ConfigError:
        return None
    try:
        return measure(arch, adapter)
    finally:
        # Adapter.remove() also moves each model back to its device, which fake tensors cannot do.
        for _, network in adapter.networks:
            network.restore()
        if adapter.embeddings:
            adapter.embeddings.remove()
        for model, _ in adapter.devices:
            model.requires_grad_(False)


def measure(arch: Architecture, adapter) -> dict:
    by_type: dict[str, int] = {}
    tensors = numel = 0
    for part, network in adapter.networks:
        types = layer_types(part.model, part.group)
        paths = {id(m): p for p, m in part.model.named_modules()}
        for lora in network.loras:
            kind = types[paths[id(lora.org_module[0])]]
            by_type[kind] = by_type.get(kind, 0) + sum(p.numel() for p in lora.parameters())
            state = lora.state_dict()
            tensors += len(state)
            numel += sum(t.numel() for t in state.values())
    if adapter.embeddings:
        bundle = adapter.embeddings.bundle()
        by_type["embedding"] = sum(t.numel() for t in bundle.values())
        tensors += len(bundle)
        numel += by_type["embedding"]
    result = {"params": sum(by_type.values()), "by_type": dict(sorted(by_type.items())), "tensors": tensors, "file_numel": numel}
    if arch.real:
        # The trainer's own count (train.py's `started` event) and the bytes of the file it writes, less the ss_* metadata.
        result["trainable_params"] = sum(p.numel() for p in adapter.parameters())
        result["file_bytes_fp32"] = len(safetensors_bytes(adapter.state_dict()))
    return result


def grid(arch: Architecture) -> list[dict]:
    """The method sections counted on this architecture: trained words only where there is a tokenizer."""
    return GRID + (WORD_GRID if arch.real else [])


def word_vectors(arch: Architecture) -> list[list]:
    """[name, width] of the vector a trained word (method.embedding_words) gets in each text encoder, as the file names it."""
    encoders = [e for e in (arch.base.text_encoder, arch.base.text_encoder_2) if e is not None]
    return [[name, encoder.config.hidden_size] for name, encoder in zip(VECTOR_NAMES[len(encoders)], encoders)]


def layers_file(archs: dict[str, Architecture]) -> dict:
    return {
        "generated": "by `python -m trainer.golden_sizes` from models/configs/ and models/shapes-xl; do not edit",
        "columns": ["component", "type", "targets", "op", "in", "out", "kernel", "bias", "count", "key_chars"],
        "architectures": {name: {"label": arch.label, "layers": layer_table(arch), "word_vectors": word_vectors(arch)} for name, arch in archs.items()},
    }


def fixture(archs: dict[str, Architecture]) -> dict:
    cases = []
    for name, arch in archs.items():
        for method in grid(arch):
            result = count(arch, method)
            if result is not None:
                cases.append({"architecture": name, "method": method, **result})
    return {"generated": "by `python -m trainer.golden_sizes`; do not edit", "cases": cases}


def dump(value: dict) -> str:
    return json.dumps(value, separators=(",", ":")).replace('],[', '],\n[').replace('},{', '},\n{') + "\n"


def main() -> None:
    torch.set_num_threads(1)
    archs = architectures()
    LAYERS.parent.mkdir(parents=True, exist_ok=True)
    LAYERS.write_text(dump(layers_file(archs)))
    FIXTURE.write_text(dump(fixture(archs)))
    print(f"wrote {LAYERS.relative_to(REPO)} and {FIXTURE.relative_to(REPO)}")


if __name__ == "__main__":
    main()
