"""Fine-tuning methods: how an adapter is attached to the frozen UNet.

Every method comes from LyCORIS; this table only says which LyCORIS algorithm,
which layers, and how the config's fields map onto LyCORIS's arguments. A new
method is a new row.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import torch
from lycoris import LycorisNetwork
from lycoris.wrapper import create_lycoris_from_weights
from safetensors import safe_open

from trainer.config import Frozen
from trainer.registry import Registry

# Which UNet layers get an adapter: the linear layers of attention (to_q, to_k,
# to_v, to_out) and of the feed-forward blocks, as kohya's LoRA for SDXL.
# The "lora_unet" prefix gives kohya's key names
# (lora_unet_<module path with _>.lora_down.weight), which A1111, Forge and ComfyUI read.
ATTENTION_AND_FEED_FORWARD = {
    "enable_conv": False,
    "target_module": ["Attention", "FeedForward"],
    "target_name": [],
    "module_algo_map": {},
    "name_algo_map": {},
    "exclude_name": [],
    "use_fnmatch": False,
    "lora_prefix": "lora_unet",
}


@dataclass(frozen=True)
class LycorisMethod:
    """A LyCORIS algorithm applied to a set of UNet layers."""

    algo: str
    summary: str
    preset: dict = field(default_factory=lambda: ATTENTION_AND_FEED_FORWARD)

    def create(self, unet: torch.nn.Module, config: Frozen) -> "Adapter":
        # LyCORIS keeps the preset on the class; set every key, so nothing from
        # an earlier run (another method, another preset) leaks into this one.
        LycorisNetwork.apply_preset(self.preset)
        network = LycorisNetwork(
            unet,
            multiplier=1.0,
            lora_dim=config.rank,
            alpha=config.alpha,
            network_module=self.algo,
            warn_on_unmatched=False,
            # Classic LoRA, W x + up(down(x)) * alpha/rank, as kohya trains it;
            # LyCORIS's default instead rebuilds W + ΔW each call, slower for training.
            bypass_mode=True,
        )
        network.apply_to()  # wraps the targeted layers' forward; undone by Adapter.remove()
        return Adapter(network, self, config)


class Adapter:
    """A trained-or-training set of LyCORIS modules on a UNet."""

    def __init__(self, network: LycorisNetwork, method: LycorisMethod, config: Frozen):
        self.network = network
        self.method = method
        self.config = config

    def parameters(self) -> list[torch.nn.Parameter]:
        return list(self.network.parameters())

    def save(self, path: Path, base_model: str) -> None:
        """Write the adapter as .safetensors with kohya sd-scripts' ss_* metadata."""
        metadata = {
            "ss_network_module": "lycoris.kohya",
            "ss_network_dim": str(self.config.rank),
            "ss_network_alpha": str(self.config.alpha),
            "ss_network_args": json.dumps({"algo": self.method.algo}),
            "ss_base_model_version": "sdxl_base_v1-0",
            "ss_sd_model_name": base_model,
        }
        self.network.save_weights(str(path), torch.float32, metadata)

    def remove(self) -> None:
        """Unwrap the UNet's layers: the (cached) base model is as it was."""
        self.network.restore()


def load_adapter(path: Path, unet: torch.nn.Module) -> Adapter:
    """Apply a saved adapter to a UNet (for inference or to check a save)."""
    with safe_open(str(path), "pt") as f:
        metadata = f.metadata() or {}
    method = METHODS[json.loads(metadata.get("ss_network_args", "{}")).get("algo", "lora")]
    LycorisNetwork.apply_preset(method.preset)  # its lora_prefix maps keys back to modules
    network, weights = create_lycoris_from_weights(1.0, str(path), unet)
    network.apply_to()
    network.load_state_dict(weights, strict=False)
    config = Frozen({"rank": int(metadata.get("ss_network_dim", 0)), "alpha": float(metadata.get("ss_network_alpha", 0))})
    return Adapter(network, method, config)


METHODS: Registry[LycorisMethod] = Registry(
    "method",
    {
        "lora": LycorisMethod(algo="lora", summary="Low-rank update B·A of each targeted weight, scaled by alpha/rank."),
    },
)
