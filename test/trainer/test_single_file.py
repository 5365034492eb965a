"""Single-file checkpoints: tiny random SD1.5, SD2 and SDXL models saved as a diffusers folder and as one
file with the original key names load into the same modules; the shipped configs are the real architectures."""

import argparse
import shutil

import pytest
import torch
from conftest import REPO
from diffusers import AutoencoderKL, DiffusionPipeline, UNet2DConditionModel
from ldm_checkpoint import checkpoint, save, vae_keys
from safetensors.torch import load_file
from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection, CLIPTokenizer

from trainer.config import ConfigError
from trainer.single_file import CONFIGS, detect, load_components

TOKENIZER = REPO / "models" / "shapes-xl" / "tokenizer"
VOCAB = 630  # shapes-xl's tokenizer

SD_UNET = dict(
    block_out_channels=(16, 32, 32),
    down_block_types=("CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"),
    up_block_types=("UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"),
    layers_per_block=2,
    cross_attention_dim=32,
    attention_head_dim=4,
    norm_num_groups=8,
    sample_size=8,
)
TINY_UNETS = {
    "sd15": SD_UNET,
    "sd2": {**SD_UNET, "use_linear_projection": True, "attention_head_dim": (2, 4, 4), "upcast_attention": True},
    "sdxl": dict(
        block_out_channels=(16, 32, 32),
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"),
        transformer_layers_per_block=(1, 1, 2),
        layers_per_block=2,
        cross_attention_dim=32 + 64,
        attention_head_dim=4,
        norm_num_groups=8,
        use_linear_projection=True,
        addition_embed_type="text_time",
        addition_time_embed_dim=8,
        projection_class_embeddings_input_dim=6 * 8 + 64,
        sample_size=8,
    ),
}
# (component, class, width, activation) per text encoder; SDXL's two must differ in width, as diffusers
# tells CLIP-L from OpenCLIP-G in an SDXL file by it.
TINY_TEXT_ENCODERS = {
    "sd15": [("text_encoder", CLIPTextModel, 32, "quick_gelu")],
    "sd2": [("text_encoder", CLIPTextModel, 32, "gelu")],
    "sdxl": [("text_encoder", CLIPTextModel, 32, "quick_gelu"), ("text_encoder_2", CLIPTextModelWithProjection, 64, "gelu")],
}
TINY_VAE = dict(
    block_out_channels=(8, 16, 16),
    down_block_types=("DownEncoderBlock2D",) * 3,
    up_block_types=("UpDecoderBlock2D",) * 3,
    layers_per_block=1,
    norm_num_groups=4,
    sample_size=16,
)


def tokenizer_names(family: str) -> tuple[str, ...]:
    return ("tokenizer", "tokenizer_2")[: len(TINY_TEXT_ENCODERS[family])]


def component_classes(family: str) -> dict:
    return {"unet": UNet2DConditionModel, "vae": AutoencoderKL} | {name: cls for name, cls, _, _ in TINY_TEXT_ENCODERS[family]}


def tiny_components(family: str) -> dict:
    torch.manual_seed(0)
    components = {"unet": UNet2DConditionModel(**TINY_UNETS[family]), "vae": AutoencoderKL(**TINY_VAE)}
    for name, cls, width, activation in TINY_TEXT_ENCODERS[family]:
        config = CLIPTextConfig(
            vocab_size=VOCAB, hidden_size=width, intermediate_size=2 * width, num_hidden_layers=2, num_attention_heads=2,
            max_position_embeddings=32, projection_dim=width, hidden_act=activation, bos_token_id=VOCAB - 2, eos_token_id=VOCAB - 1, pad_token_id=VOCAB - 1,
        )  # fmt: skip
        components[name] = cls(config)
    return components


def save_folder(family: str, components: dict, folder) -> None:
    """A diffusers folder of the tiny model: the shipped model_index and scheduler, tiny modules and tokenizers."""
    folder.mkdir()
    shutil.copy(CONFIGS / family / "model_index.json", folder)
    shutil.copytree(CONFIGS / family / "scheduler", folder / "scheduler")
    for name, module in components.items():
        module.save_pretrained(folder / name)
    for name in tokenizer_names(family):
        shutil.copytree(TOKENIZER, folder / name)


@pytest.fixture(scope="module", params=["sd15", "sd2", "sdxl"])
def tiny(request, tmp_path_factory):
    """(family, diffusers folder, single .safetensors file) of one tiny random model."""
    family = request.param
    root = tmp_path_factory.mktemp(family)
    components = tiny_components(family)
    save_folder(family, components, root / "folder")
    save(checkpoint(family, components), root / "model.safetensors")
    return family, root / "folder", root / "model.safetensors"


def outputs(family: str, modules: dict) -> dict[str, torch.Tensor]:
    """What each module computes on fixed inputs: UNet noise prediction, VAE decode and encode, every hidden state."""
    generator = torch.Generator().manual_seed(1)
    width = modules["unet"].config.cross_attention_dim
    added = {"text_embeds": torch.randn(2, 64, generator=generator), "time_ids": torch.randn(2, 6, generator=generator)} if family == "sdxl" else None
    unet_inputs = (torch.randn(2, 4, 8, 8, generator=generator), torch.tensor([10, 700]), torch.randn(2, 5, width, generator=generator))
    latents, image = torch.randn(1, 4, 4, 4, generator=generator), torch.rand(1, 3, 16, 16, generator=generator) * 2 - 1
    ids = torch.tensor([[VOCAB - 2, 5, 17, 300, VOCAB - 1]])
    with torch.no_grad():
        found = {
            "unet": modules["unet"](*unet_inputs, added_cond_kwargs=added).sample,
            "vae decode": modules["vae"].decode(latents).sample,
            "vae encode": modules["vae"].encode(image).latent_dist.mean,
        }
        for name, *_ in TINY_TEXT_ENCODERS[family]:
            out = modules[name](ids, output_hidden_states=True)
            found |= {f"{name} hidden state {i}": hidden for i, hidden in enumerate(out.hidden_states)}
            found[f"{name} last hidden state"] = out.last_hidden_state
            if isinstance(modules[name], CLIPTextModelWithProjection):
                found[f"{name} projection"] = out.text_embeds
    return found


@pytest.mark.parametrize("suffix", [".safetensors", ".ckpt"])
def test_a_single_file_loads_as_the_folder_does(tiny, suffix, tmp_path):
    family, folder, safetensors_file = tiny
    file = tmp_path / f"model{suffix}"
    save(load_file(safetensors_file), file)
    found, loaded = load_components(file, config_dir=folder)
    assert found == family
    assert set(loaded) == {"unet", "vae", "scheduler", *(name for name, *_ in TINY_TEXT_ENCODERS[family]), *tokenizer_names(family)}
    expected = outputs(family, {name: cls.from_pretrained(folder / name) for name, cls in component_classes(family).items()})
    got = outputs(family, loaded)
    assert got.keys() == expected.keys()
    for name, value in expected.items():
        torch.testing.assert_close(got[name], value, atol=1e-5, rtol=0, msg=name)
    assert loaded["scheduler"].config.prediction_type == ("v_prediction" if family == "sd2" else "epsilon")


def test_detect_reads_the_family_off_the_keys(tiny):
    family, _, file = tiny
    assert detect(load_file(file).keys()) == family


@pytest.mark.parametrize("tiny", ["sd15"], indirect=True)
@pytest.mark.parametrize(
    ("absent", "message"),
    [
        ("first_stage_model.", "is incomplete: Failed to load AutoencoderKL"),
        ("model.diffusion_model.out.2.weight", "is incomplete: its UNet or VAE lacks some weights"),
        ("cond_stage_model.transformer.text_model.final_layer_norm.weight", "is incomplete: its text_encoder lacks 1 weights, e.g. final_layer_norm.weight"),
    ],
)
def test_a_checkpoint_without_some_weights_is_named(tiny, tmp_path, absent, message):
    _, folder, file = tiny
    save({key: value for key, value in load_file(file).items() if not key.startswith(absent)}, tmp_path / "pruned.safetensors")
    with pytest.raises(ConfigError, match=rf"model: .*pruned.safetensors {message}"):
        load_components(tmp_path / "pruned.safetensors", config_dir=folder)


@pytest.mark.parametrize("tiny", ["sd15"], indirect=True)
@pytest.mark.parametrize("suffix", [".safetensors", ".ckpt"])
def test_an_inpainting_checkpoint_is_named_as_one(tiny, tmp_path, suffix):
    _, folder, file = tiny
    state = load_file(file)
    conv_in = state["model.diffusion_model.input_blocks.0.0.weight"]
    state["model.diffusion_model.input_blocks.0.0.weight"] = torch.cat([conv_in, torch.zeros(conv_in.shape[0], 5, *conv_in.shape[2:])], dim=1)  # + mask + masked image
    save(state, tmp_path / f"inpainting{suffix}")
    with pytest.raises(ConfigError, match=rf"model: .*inpainting{suffix} has a UNet that takes 9 input channels, not a text-to-image model's 4: an inpainting"):
        load_components(tmp_path / f"inpainting{suffix}", config_dir=folder)


@pytest.mark.parametrize(
    ("name", "state", "message"),
    [
        ("lora.safetensors", {"lora_unet_input_blocks_4_1_proj_in.lora_down.weight": torch.zeros(4, 8)}, "looks like a LoRA or LyCORIS adapter"),
        ("vae.safetensors", vae_keys(AutoencoderKL(**TINY_VAE), prefix=""), "looks like a VAE alone"),
        ("refiner.safetensors", {"conditioner.embedders.0.model.ln_final.weight": torch.zeros(4)}, "looks like an SDXL refiner"),
        ("other.safetensors", {"weight": torch.zeros(4)}, "looks like no Stable Diffusion checkpoint"),
    ],
)
def test_a_file_of_no_known_family_says_what_it_looks_like(tmp_path, name, state, message):
    save(state, tmp_path / name)
    with pytest.raises(ConfigError, match=rf"model: .*{name} is not an SD1.5, SD2.x or SDXL checkpoint: it {message}"):
        load_components(tmp_path / name)


@pytest.mark.parametrize("suffix", [".safetensors", ".ckpt"])
def test_a_truncated_file_is_named(tmp_path, suffix):
    whole, cut = tmp_path / f"whole{suffix}", tmp_path / f"cut{suffix}"
    save({"model.diffusion_model.out.2.weight": torch.zeros(64, 64)}, whole)
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    with pytest.raises(ConfigError, match=rf"model: .*cut{suffix} cannot be read as a {suffix} checkpoint"):
        load_components(cut)


def test_a_ckpt_that_pickles_more_than_tensors_is_refused(tmp_path):
    # weights_only=True: unpickling an object would run code from the file.
    torch.save({"state_dict": {}, "hyper_parameters": argparse.Namespace(lr=1e-4)}, tmp_path / "trainer-state.ckpt")
    with pytest.raises(ConfigError, match=r"model: .*trainer-state.ckpt cannot be read as a .ckpt checkpoint .*pickles more than tensors"):
        load_components(tmp_path / "trainer-state.ckpt")


def test_a_missing_or_foreign_file_is_named(tmp_path):
    with pytest.raises(ConfigError, match=r"model: .*absent.safetensors does not exist"):
        load_components(tmp_path / "absent.safetensors")
    (tmp_path / "model.bin").write_bytes(b"")
    with pytest.raises(ConfigError, match=r"model: .*model.bin is not a single-file checkpoint; expected one of .safetensors, .ckpt"):
        load_components(tmp_path / "model.bin")


@pytest.mark.parametrize(("family", "pads"), [("sd15", ["<|endoftext|>"]), ("sd2", ["!"]), ("sdxl", ["<|endoftext|>", "!"])])
def test_shipped_tokenizers_give_clips_ids(family, pads):
    tokenizers = [CLIPTokenizer.from_pretrained(CONFIGS / family / name) for name in ("tokenizer", "tokenizer_2") if (CONFIGS / family / name).is_dir()]
    assert [tokenizer.pad_token for tokenizer in tokenizers] == pads
    for tokenizer in tokenizers:
        # the ids of the hub's openai/clip-vit-large-patch14 tokenizer
        assert tokenizer("a photo of a cat").input_ids == [49406, 320, 1125, 539, 320, 2368, 49407]
        padded = tokenizer("a cat", padding="max_length", max_length=tokenizer.model_max_length).input_ids
        assert len(padded) == 77 and padded[4:] == [tokenizer.pad_token_id] * 73


@pytest.mark.parametrize(("family", "unet_parameters"), [("sdxl", 2_567_463_684), ("sd15", 859_520_964), ("sd2", 865_910_724)])
def test_shipped_configs_build_the_full_size_models(family, unet_parameters):
    folder = CONFIGS / family
    with torch.device("meta"):
        unet = UNet2DConditionModel.from_config(UNet2DConditionModel.load_config(folder / "unet"))
        AutoencoderKL.from_config(AutoencoderKL.load_config(folder / "vae"))
    assert sum(p.numel() for p in unet.parameters()) == unet_parameters
    index = DiffusionPipeline.load_config(folder)
    components = [name for name, value in index.items() if isinstance(value, list) and value[0]]
    assert {"unet", "vae", "text_encoder", "tokenizer", "scheduler"} <= set(components)
    assert all(any((folder / name).glob("*config.json")) for name in components), components


def test_shipped_assets_stay_small():
    files = {path.resolve() for path in CONFIGS.rglob("*") if path.is_file()}
    assert sum(path.stat().st_size for path in files) < 3_000_000


def test_a_run_trains_on_a_single_file_named_in_the_config(tiny, tmp_path, monkeypatch):
    """models.load sends a .safetensors path to load_components: the same loop trains on it (configs: the tiny folder stands in for the shipped one)."""
    from trainer import models, single_file
    from trainer.families import FAMILIES
    from trainer.events import EventRecords
    from trainer.train import train

    family, folder, file = tiny
    monkeypatch.setattr(single_file, "CONFIGS", tmp_path / "configs")
    (tmp_path / "configs").mkdir()
    (tmp_path / "configs" / family).symlink_to(folder)
    base = models.load(str(file), torch.device("cpu"))
    assert base.family is FAMILIES[family] and base.path == file
    events = []
    config = {"model": str(file), "data": {"images": 2, "resolution": 32}, "training": {"max_steps": 1, "batch_size": 2}}
    train(config, tmp_path, EventRecords(events.append), load_model=models.load)
    assert events[-1]["type"] == "finished", events[-1]
