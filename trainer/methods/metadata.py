"""sd-scripts' ss_* metadata: what A1111's and ComfyUI's LoRA info panels, and civitai, read from a file.

Every value is a string, as in sd-scripts (safetensors metadata is str -> str).
ss_tunebook_method holds our method section exactly, so load_adapter can
rebuild the adapter from the file alone.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from pathlib import Path

from trainer.config import Frozen
from trainer.models import prediction_type

# Our field names -> the network_args sd-scripts passes to lycoris.kohya.
LYCORIS_ARGS = {
    "conv_rank": "conv_dim",
    "conv_alpha": "conv_alpha",
    "factor": "factor",
    "decompose_both": "decompose_both",
    "block_size": "block_size",
    "constraint": "constraint",
    "rescaled": "rescaled",
    "weight_decompose": "dora_wd",
    "rank_dropout": "rank_dropout",
    "rank_dropout_scale": "rank_dropout_scale",
    "module_dropout": "module_dropout",
}


def network_metadata(algo: str, config: Frozen, options: dict) -> dict[str, str]:
    args = {"algo": algo, **{LYCORIS_ARGS[k]: str(v) for k, v in {**config.to_dict(), **options}.items() if k in LYCORIS_ARGS and v is not None}}
    return {
        "ss_network_module": "lycoris.kohya",
        "ss_network_dim": str(config.rank),
        "ss_network_alpha": str(config.alpha),
        "ss_network_args": json.dumps(args),
        "ss_network_dropout": str(config.dropout),
        "ss_tunebook_method": json.dumps(config.to_dict()),
    }


def legacy_model_hash(path: Path) -> str:
    """A1111's short model hash (sd-scripts' ss_sd_model_hash): sha256 of 64 KiB at offset 1 MiB, first 8 hex digits."""
    with open(path, "rb") as f:
        f.seek(0x100000)
        return hashlib.sha256(f.read(0x10000)).hexdigest()[:8]


def run_metadata(cfg: Frozen, base, param_groups: list[dict], steps: int, seconds: float, buckets: dict[tuple[int, int], int], regularization: int) -> dict[str, str]:
    """What the run knows about itself, in sd-scripts' keys; `buckets`: images (with repeats) per (width, height), `regularization` of them regularization images."""
    training, data = cfg.training, cfg.data
    images = sum(buckets.values())  # what an epoch sees: training and regularization images
    images_seen = steps * training.batch_size * training.gradient_accumulation
    return {
        # sd-scripts names a model given by path by its file or folder name.
        "ss_sd_model_name": base.path.name,
        "ss_sd_model_hash": legacy_model_hash(base.path if base.path.is_file() else base.path / "unet" / "diffusion_pytorch_model.safetensors"),
        # A1111 tells SD1, SD2 and SDXL LoRAs apart by these two.
        "ss_base_model_version": base.family.versions[prediction_type(base, training.prediction_type)],
        "ss_v2": str(base.family.v2),
        "ss_learning_rate": str(cfg.optimizer.lr),
        **{f"ss_{group['name']}_lr": str(group["lr"]) for group in param_groups if group["name"] in ("unet", "text_encoder")},
        "ss_loraplus_lr_ratio": str(cfg.method.loraplus_lr_ratio),
        "ss_optimizer": cfg.optimizer.name,
        "ss_lr_scheduler": cfg.scheduler.name,
        "ss_lr_warmup_steps": str(cfg.scheduler.warmup_steps),
        "ss_steps": str(steps),
        "ss_max_train_steps": str(steps),
        "ss_num_epochs": str(training.epochs or math.ceil(images_seen / images)),
        "ss_batch_size_per_device": str(training.batch_size),
        "ss_gradient_accumulation_steps": str(training.gradient_accumulation),
        "ss_seed": str(training.seed),
        "ss_mixed_precision": training.mixed_precision,
        "ss_noise_offset": str(training.noise_offset),
        "ss_multires_noise_iterations": str(training.multires_noise_iterations),
        "ss_multires_noise_discount": str(training.multires_noise_discount),
        "ss_ip_noise_gamma": str(training.ip_noise_gamma),
        "ss_min_snr_gamma": str(training.min_snr_gamma),
        "ss_debiased_estimation": str(training.debiased_estimation),
        "ss_loss_type": training.loss_type,
        "ss_huber_c": str(training.huber_c),
        "ss_huber_schedule": training.huber_schedule,
        "ss_min_timestep": str(training.min_timestep),
        "ss_max_timestep": str(training.max_timestep),
        "ss_clip_skip": str(training.clip_skip),
        "ss_max_token_length": str(training.max_token_length),
        "ss_max_grad_norm": str(training.max_grad_norm),
        "ss_scale_weight_norms": str(training.scale_weight_norms),
        "ss_resolution": str((data.resolution, data.resolution)),
        "ss_num_train_images": str(images - regularization),
        "ss_num_reg_images": str(regularization),
        "ss_prior_loss_weight": str(data.prior_loss_weight),
        "ss_enable_bucket": str(data.buckets),
        "ss_min_bucket_reso": str(data.bucket_min_side),
        "ss_max_bucket_reso": str(data.bucket_max_side),
        "ss_bucket_info": json.dumps({"buckets": {str(i): {"resolution": list(side), "count": n} for i, (side, n) in enumerate(sorted(buckets.items()))}}),
        "ss_shuffle_caption": str(data.shuffle_caption),
        "ss_keep_tokens": str(data.keep_tokens),
        "ss_caption_dropout_rate": str(data.caption_dropout),
        "ss_caption_tag_dropout_rate": str(data.caption_tag_dropout),
        "ss_flip_aug": str(data.flip_aug),
        "ss_datasets": json.dumps([{"source": data.source, "concept": data.concept, "path": data.path, "images": data.images, "seed": data.seed, "draw": data.draw, "resolution": data.resolution, "reg_path": data.reg_path, "reg_images": data.reg_images}]),
        "ss_training_time_seconds": f"{seconds:.1f}",
        "ss_training_finished_at": str(time.time()),
    }
