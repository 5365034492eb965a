"""Fine-tuning methods: how a trainable adapter is attached to the frozen base model.

Every method is a LyCORIS algorithm; a row of METHODS says which one, which
layers it wraps (targets.py), and how the config's fields become LyCORIS's
arguments. The adapter is saved in kohya's format (kohya_names.py, metadata.py),
the one sd-scripts writes and A1111, Forge and ComfyUI load. A new method is a new row.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import torch
from lycoris import LycorisNetwork
from lycoris.modules.base import LycorisBaseModule
from lycoris.wrapper import network_module_dict
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from trainer.config import ConfigError, Frozen, resolve, schema
from trainer.models import placement
from trainer.methods import block_sizes
from trainer.methods.dylora import OrderedRankDyLora
from trainer.methods.kohya_names import file_names
from trainer.methods.lean_lora import LeanLoCon
from trainer.methods.metadata import network_metadata
from trainer.methods.word_embeddings import WordEmbeddings
from trainer.methods.targets import ATTENTION, ATTENTION_AND_CONV, EVERYTHING, Targets
from trainer.registry import Registry

# LyCORIS 4 runs its modules through fused Triton kernels on CUDA unless told otherwise. On an H200 (npm run bench:gpu,
# bench/results/gpu-nvidia-h200*.json) an SDXL LoRA step on that path took 1.6x as long as on the eager path at batch 1
# and 8, and a third more memory, since the fused kernels run outside autocast, in float32. The eager path is also the
# one sd-scripts runs. A user's own LYCORIS_KERNEL_BACKEND still wins. (LoRA and LoCon now take tunebook's own forward,
# lean_lora.py, except with rank dropout or Tucker; the pin holds for those and the other algorithms.)
os.environ.setdefault("LYCORIS_KERNEL_BACKEND", "torch")

# LyCORIS's table of algorithms is its extension point: our DyLoRA (dylora.py) replaces its broken one, and our
# LoRA/LoCon (lean_lora.py) its slower forward; same names, same file format.
network_module_dict["dylora"] = OrderedRankDyLora
network_module_dict["lora"] = network_module_dict["locon"] = LeanLoCon


@dataclass(frozen=True)
class Component:
    """One model the adapter wraps, under its kohya key prefix."""

    group: str  # the optimizer param group: "unet" or "text_encoder"
    prefix: str  # lora_unet, lora_te (one text encoder), lora_te1, lora_te2 (SDXL)
    model: torch.nn.Module
    names: dict[str, str]  # LyCORIS's module names -> kohya's (kohya_names.file_names)


def components(base, train_text_encoder: bool) -> list[Component]:
    """The UNet and, if they train, the family's text encoders, under the family's kohya prefixes and names."""
    family = base.family
    found = [("unet", "lora_unet", base.unet)]
    found += [("text_encoder", prefix, encoder) for prefix, encoder in zip(family.text_encoder_prefixes, (base.text_encoder, base.text_encoder_2))] * train_text_encoder
    return [Component(group, prefix, model, file_names(model, prefix, family.unet_layout)) for group, prefix, model in found]


def check_readers(config: Frozen) -> None:
    """A field the method's modules would silently ignore (a dropout, LoRA+) is refused; the schema's x-methods say which read it."""
    for field, spec in schema()["properties"]["method"]["properties"].items():
        if "x-methods" in spec and getattr(config, field) and config.name not in spec["x-methods"]:
            raise ConfigError(f"method.{field}: method {config.name} does not apply it ({', '.join(spec['x-methods'])} do); remove it")


@dataclass(frozen=True)
class Method:
    """A LyCORIS algorithm, the layers it wraps, and the LyCORIS arguments the config gives it."""

    algo: str  # a key of lycoris.wrapper.network_module_dict
    summary: str
    targets: Targets = ATTENTION
    # config -> LyCORIS keyword arguments (beyond lora_dim and alpha)
    options: Callable[[Frozen], dict] = lambda c: {}
    # config -> LyCORIS's lora_dim; OFT and BOFT read their block size from it
    dim: Callable[[Frozen], int] = lambda c: c.rank
    # Bypass (x -> W x + ΔW x) is kohya's LoRA and faster; OFT, DoRA and full only
    # equal what the UIs merge (W' = f(W)) when the weight is rebuilt.
    bypass: bool = True
    # (config, widths of the targeted layers) -> raises ConfigError naming the field
    check: Callable[[Frozen, set[int]], None] = lambda c, widths: None
    # the block size when method.block_size is null (DyLoRA, OFT, BOFT)
    block_size: int | None = None

    def create(self, base, config: Frozen) -> "Adapter":
        config = Frozen({**config.to_dict(), "block_size": config.block_size or self.block_size})
        if config.text_encoder_lr is not None and not config.train_text_encoder:
            raise ConfigError("method.text_encoder_lr: set, but method.train_text_encoder is false, so the text encoders are frozen and have no learning rate")
        if config.embedding_lr is not None and not config.embedding_words:
            raise ConfigError("method.embedding_lr: set, but method.embedding_words is empty, so no embedding trains")
        check_readers(config)
        parts = components(base, config.train_text_encoder)
        self.check(config, {w for part in parts for w in self.targets.widths(part.model, part.group)})
        networks = []
        for part in parts:
            # LyCORIS keeps the preset on the class; set every key, so nothing from
            # an earlier network (another method, another prefix) leaks into this one.
            LycorisNetwork.apply_preset(self.targets.preset(part.group, part.prefix))
            network = LycorisNetwork(
                part.model,
                multiplier=1.0,
                lora_dim=self.dim(config),
                alpha=config.alpha,
                conv_lora_dim=config.conv_rank,
                conv_alpha=config.conv_alpha,
                network_module=self.algo,
                train_norm=self.targets.norms,
                warn_on_unmatched=False,
                bypass_mode=self.bypass,
                dropout=config.dropout,
                rank_dropout=config.rank_dropout,
                module_dropout=config.module_dropout,
                **self.options(config),
            )
            network.apply_to()  # wraps the targeted layers' forward; undone by Adapter.remove()
            device, _ = placement(part.model)
            if device.type != "cpu":  # LyCORIS builds its layers on the CPU, whatever the model's device
                network.to(device)
            networks.append((part, network))
        return Adapter(self, config, networks, WordEmbeddings(base, tuple(config.embedding_words)) if config.embedding_words else None)


# training.save_precision -> the saved file's dtype
SAVE_DTYPES = {"float": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}


class Adapter:
    """The LyCORIS networks a method put on the base model, and the word embeddings trained with them (pivotal
    tuning), trained together and saved as one file."""

    def __init__(self, method: Method, config: Frozen, networks: list[tuple[Component, LycorisNetwork]], embeddings: WordEmbeddings | None = None):
        self.method = method
        self.config = config
        self.networks = networks
        self.embeddings = embeddings
        self.devices = [(part.model, placement(part.model)[0]) for part, _ in networks]
        self.train()

    def param_groups(self, lr: float) -> list[dict]:
        """The optimizer's param groups: {"name", "params", "lr"} for the UNet and (if trained) the text encoders;
        with LoRA+ (method.loraplus_lr_ratio) each is followed by its up matrices ("unet, LoRA+ up") at ratio x its LR;
        with method.embedding_words, their vectors last ("embeddings"), never weight-decayed: decay would pull a word toward zero, not toward its old meaning."""
        lrs = {"unet": self.config.unet_lr, "text_encoder": self.config.text_encoder_lr}
        ratio = self.config.loraplus_lr_ratio
        groups: dict[str, dict] = {}
        for part, network in self.networks:
            group_lr = lrs[part.group] or lr
            for name, param in network.named_parameters():
                up = ratio is not None and "lora_up" in name
                key = f"{part.group}, LoRA+ up" if up else part.group
                groups.setdefault(key, {"name": key, "params": [], "lr": group_lr * ratio if up else group_lr})["params"].append(param)
        if self.embeddings:
            groups["embeddings"] = {"name": "embeddings", "params": list(self.embeddings.parameters()), "lr": self.config.embedding_lr or lr, "weight_decay": 0.0}
        return list(groups.values())

    def parameters(self) -> list[torch.nn.Parameter]:
        return [p for _, network in self.networks for p in network.parameters()] + (list(self.embeddings.parameters()) if self.embeddings else [])

    def eval(self) -> None:
        """Training-time randomness off (dropouts, DyLoRA's rank sampling): the adapter computes what its file holds."""
        for _, network in self.networks:
            network.eval()
            network.set_multiplier(1.0)

    def train(self) -> None:
        """Training mode; with method.rank_dropout_scale the update is scaled by 1/(1 - rank_dropout) meanwhile, as
        sd-scripts' networks.lora does, so on average training sees the update at the size sampling uses. (LyCORIS's
        own rank_dropout_scale divides by the share of ranks kept, which is 0 when a layer drops them all: NaN.)"""
        keep = 1 - self.config.rank_dropout if self.config.rank_dropout_scale else 1.0
        for _, network in self.networks:
            network.train()
            network.set_multiplier(1 / keep)

    def modules(self) -> list[LycorisBaseModule]:
        """Every LyCORIS module of every network: one per wrapped layer."""
        return [module for _, network in self.networks for module in network.loras]

    def check_max_norm(self) -> None:
        """training.scale_weight_norms needs modules that LyCORIS can limit: those overriding its base's no-op apply_max_norm."""
        if all(type(module).apply_max_norm is LycorisBaseModule.apply_max_norm for module in self.modules()):
            raise ConfigError(f"training.scale_weight_norms: method {self.config.name} has no weight norm to limit (lora, locon, loha, lokr, oft, boft and dora have); set it to null")

    @torch.no_grad()
    def apply_max_norm(self, max_norm: float) -> None:
        """Scale each module whose update's norm exceeds max_norm back to it, as sd-scripts' scale_weight_norms does."""
        for module in self.modules():
            module.apply_max_norm(max_norm, module.device)

    def state_dict(self) -> dict[str, torch.Tensor]:
        """Every tensor under kohya's key names (SDXL: lora_unet_input_blocks_4_1_..., lora_te1_...; SD1/SD2: lora_unet_down_blocks_1_attentions_0_..., lora_te_...),
        and trained words as bundle_emb.<word>.*; float32 on the CPU."""
        raw = {}
        for part, network in self.networks:
            for key, value in network.state_dict().items():
                module, _, tensor = key.partition(".")
                raw[f"{part.names[module]}.{tensor}"] = value
        if self.embeddings:
            raw.update(self.embeddings.bundle())
        return on_cpu(raw)

    def load_state_dict(self, weights: dict[str, torch.Tensor]) -> None:
        if self.embeddings:
            self.embeddings.load_bundle(weights)
        for part, network in self.networks:
            paths = {kohya: lycoris for lycoris, kohya in part.names.items()}
            mine = {f"{paths[k.partition('.')[0]]}.{k.partition('.')[2]}": v for k, v in weights.items() if k.startswith(part.prefix + "_")}
            network.load_state_dict(mine, strict=True)

    def start_from(self, path: Path) -> dict:
        """Load a trained adapter file into this one (method.start_from): every tensor it has a place for, checked
        for shape and alpha first. Returns what was loaded, and what the file had that this adapter has no place for."""
        try:
            weights = load_file(str(path))
        except Exception as error:  # safetensors' errors name no file
            raise ConfigError(f"method.start_from: cannot read {path} as a safetensors adapter ({error})") from None
        mine = self.state_dict()
        used = [key for key in weights if key in mine]
        if all(key.endswith(".alpha") for key in used):  # every method keeps an alpha per layer: that alone is no match
            raise ConfigError(f"method.start_from: none of the {len(weights)} tensors in {path.name} has a place in this {self.config.name} adapter (is it for another model family, or another method?)")
        for key in used:
            theirs, ours = weights[key], mine[key]
            if key.endswith(".alpha") and theirs.shape == ours.shape and not torch.allclose(theirs.float(), ours):
                raise ConfigError(f"method.start_from: {path.name} was trained with alpha {theirs.item():g} ({key}); set method.alpha to {theirs.item():g}")
            if theirs.shape != ours.shape:
                rank = f"; it looks like rank {theirs.shape[0]}: set method.rank to it" if key.endswith("lora_down.weight") else ""
                raise ConfigError(f"method.start_from: {key} is {tuple(theirs.shape)} in {path.name} and {tuple(ours.shape)} in this adapter{rank}")
        self.load_state_dict({**mine, **{key: weights[key] for key in used}})
        unused = sorted(set(weights) - set(used))
        return {"file": path.name, "loaded": len(used), "missing": len(mine) - len(used), "unused": len(unused), "unused_examples": unused[:3]}

    def save(self, path: Path, run_metadata: dict[str, str], precision: str = "float") -> None:
        """Write the adapter as .safetensors with kohya sd-scripts' ss_* metadata, its weights in training.save_precision."""
        weights = {key: value.to(SAVE_DTYPES[precision]) for key, value in self.state_dict().items()}
        write_atomically(path, weights, {**run_metadata, **network_metadata(self.method.algo, self.config, self.method.options(self.config))})

    def save_words(self, folder: Path) -> None:
        """Each trained word as an embedding file of its own, folder/<word>.safetensors, for the tools that skip the
        adapter's bundled words (ComfyUI, sd-scripts). A word that cannot be a file name (a lone '/') has none."""
        folder.mkdir(exist_ok=True)
        for word, vectors in self.embeddings.files().items():
            if re.fullmatch(r"[\w-]+", word):
                write_atomically(folder / f"{word}.safetensors", on_cpu(vectors))

    def remove(self) -> None:
        """Unwrap the base model's layers: the (cached) base model is as it was, frozen, on its device."""
        for _, network in self.networks:
            network.restore()
        if self.embeddings:
            self.embeddings.remove()
        # LyCORIS's full fine-tuning hands back each weight as a new, trainable, CPU Parameter.
        for model, device in self.devices:
            model.requires_grad_(False)
            if any(p.device != device for p in model.parameters()):  # only then: fake tensors cannot be moved in place
                model.to(device)


def on_cpu(tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Tensors as a file holds them: float32, on the CPU, contiguous, out of autograd."""
    return {key: value.detach().to("cpu", torch.float32).contiguous() for key, value in tensors.items()}


def write_atomically(path: Path, tensors: dict[str, torch.Tensor], metadata: dict[str, str] | None = None) -> None:
    """A .safetensors file written beside its place and moved in: a kill mid-write keeps the old file."""
    tmp = path.with_name(f".{path.name}.tmp")
    save_file(tensors, str(tmp), metadata)
    os.replace(tmp, path)


def load_adapter(path: Path, base) -> Adapter:
    """Apply a saved adapter to a base model (for inference or to check a save), from the file alone."""
    with safe_open(str(path), "pt") as f:
        # Defaults filled in: a file saved before a method field existed loads as it was trained.
        config = Frozen(resolve({"method": json.loads(f.metadata()["ss_tunebook_method"])})["method"])
    adapter = METHODS[config.name].create(base, config)
    adapter.load_state_dict(load_file(str(path)))
    adapter.eval()
    return adapter


def oft_options(c: Frozen) -> dict:
    return {"constraint": c.constraint, "rescaled": c.rescaled}


METHODS: Registry[Method] = Registry(
    "method",
    {
        "lora": Method(algo="lora", summary="Low-rank update B·A of each attention and feed-forward weight, scaled by alpha/rank."),
        "locon": Method(algo="locon", targets=ATTENTION_AND_CONV, summary="LoRA on the convolutions of the ResNet blocks too (conv_rank, conv_alpha)."),
        "loha": Method(algo="loha", targets=ATTENTION_AND_CONV, summary="Hadamard product of two low-rank pairs: rank² expressiveness for 2x the parameters."),
        "lokr": Method(
            algo="lokr",
            targets=ATTENTION_AND_CONV,
            summary="Kronecker product of a small and a low-rank matrix (factor, decompose_both).",
            options=lambda c: {"factor": c.factor, "decompose_both": c.decompose_both},
        ),
        "dylora": Method(
            algo="dylora",
            summary="LoRA trained at random truncated ranks, so every prefix of its rank works (block_size).",
            options=lambda c: {"block_size": c.block_size},
            block_size=4,
            check=block_sizes.check_dylora,
        ),
        "ia3": Method(algo="ia3", summary="(IA)^3: a learned scale per output channel; tiny files, needs a much higher LR."),
        "oft": Method(
            algo="diag-oft",
            summary="Orthogonal fine-tuning: rotates each weight's outputs by block-diagonal orthogonal matrices (block_size, constraint, rescaled).",
            dim=lambda c: c.block_size,
            block_size=4,
            options=oft_options,
            bypass=False,
            check=block_sizes.check_oft,
        ),
        "boft": Method(
            algo="boft",
            summary="Butterfly OFT: a product of sparse orthogonal butterfly factors, a dense rotation from few parameters.",
            dim=lambda c: c.block_size,
            block_size=16,
            options=oft_options,
            bypass=False,
            check=block_sizes.check_boft,
        ),
        "dora": Method(
            algo="lora",
            summary="DoRA: LoRA on the direction of each weight plus a trained magnitude per output.",
            options=lambda c: {"weight_decompose": True},
            bypass=False,
        ),
        "glora": Method(algo="glora", summary="Generalised LoRA: low-rank scale and shift of both weight and input."),
        "full": Method(algo="full", targets=EVERYTHING, summary="Full fine-tuning: every weight of the UNet trains; the file holds each weight's difference.", bypass=False),
    },
)
