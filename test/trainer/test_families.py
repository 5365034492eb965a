"""SD1.5, SD2.x (v-prediction) and SDXL diffusers folders: recognised, encoded as their pipelines do, trained, saved with kohya's names.

Each family is a tiny random model built here and saved as a real diffusers
folder (shapes-xl's tokenizer, no downloads), then loaded through models.load
as a user's checkpoint folder would be.
"""

import dataclasses
import json
from pathlib import Path

import pytest
import torch
from diffusers import (
    AutoencoderKL,
    DDIMScheduler,
    EulerDiscreteScheduler,
    PNDMScheduler,
    StableDiffusionPipeline,
    StableDiffusionXLPipeline,
    UNet2DConditionModel,
)
from safetensors import safe_open
from safetensors.torch import load_file
from transformers import CLIPTextModel, CLIPTokenizer

from trainer import models, sampling
from trainer.events import EventRecords
from trainer.families import identify, of_folder
from trainer.methods import load_adapter
from trainer.shapes import architecture
from trainer.train import ADAPTER_FILE, WORD_FILES, train

TOKENIZER = Path(__file__).resolve().parents[2] / "models" / "shapes-xl" / "tokenizer"
TEXT_HIDDEN = 32
PROMPT = ["a red circle in the center on a white background"]


def sd_unet(linear_projection: bool) -> UNet2DConditionModel:
    """SD1/SD2's UNet in miniature: cross-attention from the first level, no added conditioning."""
    return UNet2DConditionModel(
        sample_size=8,
        down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"),
        up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"),
        block_out_channels=(16, 32),
        layers_per_block=1,
        attention_head_dim=2,
        norm_num_groups=8,
        cross_attention_dim=TEXT_HIDDEN,
        use_linear_projection=linear_projection,  # SD2's OpenCLIP-H UNet: Linear proj_in/out, SD1's: 1x1 convolutions
    )


def text_encoder(tokenizer: CLIPTokenizer, act: str) -> CLIPTextModel:
    config = architecture.text_encoder_config(len(tokenizer), tokenizer.eos_token_id, tokenizer.bos_token_id, hidden=TEXT_HIDDEN)
    config.hidden_act = act  # CLIP-L: quick_gelu; OpenCLIP-H (SD2): gelu
    return CLIPTextModel(config)


def build(family: str) -> StableDiffusionPipeline | StableDiffusionXLPipeline:
    torch.manual_seed(0)
    tokenizer = CLIPTokenizer.from_pretrained(TOKENIZER)
    vae: AutoencoderKL = architecture.vae()
    if family == "sdxl":
        encoder, encoder_2 = architecture.text_encoders(tokenizer)
        unet = architecture.unet()
        return StableDiffusionXLPipeline(vae, encoder, encoder_2, tokenizer, tokenizer, unet, architecture.scheduler(), add_watermarker=False)
    schedule = dict(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", steps_offset=1)
    scheduler, act, linear = {
        # As the real folders: SD1.5 ships PNDM; SD2.1 (768-v) DDIM predicting v.
        "sd15": (PNDMScheduler(**schedule, skip_prk_steps=True), "quick_gelu", False),
        "sd2": (DDIMScheduler(**schedule, clip_sample=False, prediction_type="v_prediction"), "gelu", True),
    }[family]
    return StableDiffusionPipeline(vae, text_encoder(tokenizer, act), tokenizer, sd_unet(linear), scheduler, safety_checker=None, feature_extractor=None, requires_safety_checker=False)


@pytest.fixture(scope="module")
def folders(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("families")
    for family in ("sd15", "sd2", "sdxl"):
        build(family).save_pretrained(root / family)
    return {family: root / family for family in ("sd15", "sd2", "sdxl")}


FAMILY_NAMES = ["sd15", "sd2", "sdxl"]


def probe(base: models.BaseModel) -> torch.Tensor:
    """The UNet's output on fixed inputs, conditioned as the family's UNet takes it."""
    g = torch.Generator().manual_seed(1)
    x, t = torch.randn(2, 4, 8, 8, generator=g), torch.tensor([100, 700])
    embeds = torch.randn(2, architecture.MAX_TOKENS, base.unet.config.cross_attention_dim, generator=g)
    pooled = torch.randn(2, architecture.TEXT_2_PROJECTION, generator=g)
    with torch.no_grad():
        return base.unet(x, t, **base.unet_conditioning(embeds, pooled, models.time_ids((32, 32), (0, 0), (32, 32), 2))).sample


class Recorder(EventRecords):
    """Records events, and the trained UNet's output and prompt encoding while the adapter is still applied."""

    def __init__(self):
        self.events, self.base, self.trained, self.trained_text = [], None, None, None
        super().__init__(self.events.append)

    def finished(self, step, seconds, adapter):
        self.trained = probe(self.base)
        with torch.no_grad():
            self.trained_text = models.encode_prompts(self.base, PROMPT)[0]
        super().finished(step, seconds, adapter)


def run(folder: Path, run_dir: Path, **method) -> Recorder:
    """Two LoRA steps on 32px shapes through models.load, as a config naming the folder runs."""
    recorder = Recorder()

    def load(name, device, dtype):
        recorder.base = models.load(name, device, dtype)
        return recorder.base

    config = {
        "model": str(folder),
        "method": {"name": "lora", **method},
        "data": {"images": 2, "resolution": 32},
        "optimizer": {"lr": 1e-2},
        "training": {"max_steps": 2, "batch_size": 2, "seed": 0},
    }
    train(config, run_dir, recorder, load_model=load)
    assert recorder.events[-1]["type"] == "finished", recorder.events[-1]
    return recorder


def read(path: Path) -> tuple[list[str], dict]:
    with safe_open(str(path), "pt") as f:
        return list(f.keys()), f.metadata()


@pytest.mark.parametrize("family", FAMILY_NAMES)
def test_family_is_read_from_the_folder(family, folders):
    assert of_folder(family, folders[family]) == family
    base = models.load(str(folders[family]), torch.device("cpu"))
    assert len(base.text_encoders) == (2 if family == "sdxl" else 1)
    assert base.noise_scheduler.config.prediction_type == ("v_prediction" if family == "sd2" else "epsilon")


def test_an_sd1_unet_config_from_before_use_linear_projection_is_sd15():
    assert identify("old", "StableDiffusionPipeline", {"cross_attention_dim": 768, "attention_head_dim": 8}) == "sd15"


def test_an_unknown_pipeline_fails_naming_the_model(tmp_path):
    folder = tmp_path / "kandinsky"
    build("sd15").save_pretrained(folder)
    index = json.loads((folder / "model_index.json").read_text())
    (folder / "model_index.json").write_text(json.dumps({**index, "_class_name": "KandinskyPipeline"}))
    events = []
    train({"model": str(folder)}, tmp_path / "run", EventRecords(events.append))
    assert [e["type"] for e in events] == ["failed"]
    assert events[0]["error"].startswith("model: ") and "KandinskyPipeline" in events[0]["error"] and "sd15" in events[0]["error"], events[0]["error"]


@pytest.mark.parametrize("family", FAMILY_NAMES)
def test_prompts_are_encoded_as_the_familys_pipeline_encodes_them(family, folders):
    base = models.load(str(folders[family]), torch.device("cpu"))
    pipe = base.family.pipeline.from_pretrained(folders[family])
    with torch.no_grad():
        ours, pooled = models.encode_prompts(base, PROMPT)
        theirs = pipe.encode_prompt(PROMPT, device="cpu", num_images_per_prompt=1, do_classifier_free_guidance=False)
    torch.testing.assert_close(ours, theirs[0])
    if base.family.micro_conditioning:
        torch.testing.assert_close(pooled, theirs[2])
    else:
        assert pooled is None


@pytest.mark.parametrize("family", ["sd15", "sd2"])
def test_clip_skip_2_is_the_text_encoder_without_its_last_layer(family, folders):
    """A1111's and sd-scripts' clip skip 2: the penultimate layer, through the final layer norm, as if the last layer were not there."""
    base = models.load(str(folders[family]), torch.device("cpu"))
    config = base.text_encoder.config
    shorter = CLIPTextModel(type(config)(**{**config.to_dict(), "num_hidden_layers": config.num_hidden_layers - 1})).eval()
    missing, _ = shorter.load_state_dict(base.text_encoder.state_dict(), strict=False)
    assert not missing
    with torch.no_grad():
        ours = models.encode_prompts(base, PROMPT, clip_skip=2)[0]
        assert not torch.allclose(ours, models.encode_prompts(base, PROMPT)[0])
        torch.testing.assert_close(ours, models.encode_prompts(dataclasses.replace(base, text_encoder=shorter), PROMPT)[0])


def first_loss(folder: Path, run_dir: Path, clip_skip: int, cache: str) -> float:
    events = []
    config = {
        "model": str(folder),
        "data": {"images": 2, "resolution": 32},
        "training": {"max_steps": 1, "batch_size": 2, "clip_skip": clip_skip, "cache_text_encoder_outputs": cache},
        "sample": {"every": 1, "steps": 2, "prompts": [{"prompt": PROMPT[0], "negative_prompt": "blurry"}]},  # drawn with the same clip skip
    }
    train(config, run_dir, EventRecords(events.append))
    assert events[-1]["type"] == "finished", events[-1]
    return next(e["loss"] for e in events if e["type"] == "step")


def test_a_run_trains_on_its_clip_skip_cached_or_not(folders, tmp_path):
    cached, encoded = (first_loss(folders["sd15"], tmp_path / cache, 2, cache) for cache in ("memory", "off"))
    assert cached == pytest.approx(encoded, rel=1e-5)
    assert cached != pytest.approx(first_loss(folders["sd15"], tmp_path / "skip1", 1, "memory"), rel=1e-3)
    _, metadata = read(tmp_path / "memory" / ADAPTER_FILE)
    assert metadata["ss_clip_skip"] == "2"


@pytest.mark.parametrize("family, clip_skip, message", [("sdxl", 2, "an SDXL model always conditions on fixed text-encoder layers"), ("sd15", 3, "this model's text encoder has 2 layers")])
def test_a_clip_skip_the_model_cannot_take_fails_before_training(family, clip_skip, message, folders, tmp_path):
    events = []
    train({"model": str(folders[family]), "data": {"images": 2, "resolution": 32}, "training": {"max_steps": 1, "clip_skip": clip_skip}}, tmp_path, EventRecords(events.append))
    assert [e["type"] for e in events] == ["failed"]
    assert events[0]["error"].startswith(f"training.clip_skip: {clip_skip}, but {message}"), events[0]["error"]


# Per family: kohya's prefixes in a file that trains the text encoders too, and how its UNet blocks are named.
KOHYA = {
    "sd15": ({"lora_unet", "lora_te"}, "lora_unet_down_blocks_0_attentions_0_", "sd_v1", "False"),
    "sd2": ({"lora_unet", "lora_te"}, "lora_unet_down_blocks_0_attentions_0_", "sd_v2_v", "True"),
    "sdxl": ({"lora_unet", "lora_te1", "lora_te2"}, "lora_unet_output_blocks_0_1_", "sdxl_base_v1-0", "False"),
}


@pytest.mark.parametrize("family", FAMILY_NAMES)
def test_lora_trains_saves_kohya_names_and_reloads(family, folders, tmp_path):
    prefixes, unet_block, version, v2 = KOHYA[family]
    recorder = run(folders[family], tmp_path, train_text_encoder=True)
    keys, metadata = read(tmp_path / ADAPTER_FILE)
    assert {"_".join(key.split("_")[:2]) for key in keys} == prefixes
    assert any(key.startswith(unet_block) for key in keys)
    assert metadata["ss_base_model_version"] == version and metadata["ss_v2"] == v2  # sd2: v-prediction from the folder's scheduler
    assert metadata["ss_sd_model_name"] == family
    fresh = models.load(str(folders[family]), torch.device("cpu"))
    before = probe(fresh)
    adapter = load_adapter(tmp_path / ADAPTER_FILE, fresh)
    try:
        assert not torch.allclose(recorder.trained, before)
        torch.testing.assert_close(probe(fresh), recorder.trained, rtol=1e-4, atol=1e-5)
    finally:
        adapter.remove()


@pytest.mark.parametrize("family", FAMILY_NAMES)
def test_word_embeddings_are_bundled_as_a1111_reads_them_and_load_back(family, folders, tmp_path):
    recorder = run(folders[family], tmp_path, embedding_words=["background"], embedding_lr=0.05)
    keys, _ = read(tmp_path / ADAPTER_FILE)
    bundled = sorted(key.removeprefix("bundle_emb.background.") for key in keys if key.startswith("bundle_emb."))
    assert bundled == (["clip_g", "clip_l"] if family == "sdxl" else ["string_to_param.*"])
    # the word's own file, for ComfyUI and sd-scripts, which skip bundled words: the same vectors
    own, bundle = load_file(tmp_path / WORD_FILES / "background.safetensors"), load_file(tmp_path / ADAPTER_FILE)
    assert sorted(own) == (["clip_g", "clip_l"] if family == "sdxl" else ["emb_params"])
    for name, vector in own.items():
        assert torch.equal(vector, bundle[f"bundle_emb.background.{'string_to_param.*' if name == 'emb_params' else name}"])
    fresh = models.load(str(folders[family]), torch.device("cpu"))
    with torch.no_grad():
        frozen = models.encode_prompts(fresh, PROMPT)[0]
        adapter = load_adapter(tmp_path / ADAPTER_FILE, fresh)
        try:
            assert not torch.allclose(recorder.trained_text, frozen)
            torch.testing.assert_close(models.encode_prompts(fresh, PROMPT)[0], recorder.trained_text)
        finally:
            adapter.remove()
        torch.testing.assert_close(models.encode_prompts(fresh, PROMPT)[0], frozen)


def test_diffusers_loads_an_sd15_lora_to_the_same_output(folders, tmp_path):
    """StableDiffusionPipeline.load_lora_weights, as a client of kohya's SD1 names (diffusers module paths, lora_te_), applies it as we trained it."""
    recorder = run(folders["sd15"], tmp_path, train_text_encoder=True)
    pipe = StableDiffusionPipeline.from_pretrained(folders["sd15"])
    pipe.load_lora_weights(str(tmp_path / ADAPTER_FILE))
    loaded = dataclasses.replace(recorder.base, unet=pipe.unet, text_encoder=pipe.text_encoder)
    assert not torch.allclose(probe(loaded), probe(recorder.base))
    torch.testing.assert_close(probe(loaded), recorder.trained, rtol=1e-4, atol=1e-4)
    with torch.no_grad():
        torch.testing.assert_close(models.encode_prompts(loaded, PROMPT)[0], recorder.trained_text, rtol=1e-4, atol=1e-4)


def test_diffusers_loads_a_trained_word_file_as_a_textual_inversion(folders, tmp_path):
    """The word's own file in A1111's embedding format, as diffusers' load_textual_inversion (a client of that format)
    reads it: under a new token, the prompt encodes as the trained word did."""
    recorder = run(folders["sd15"], tmp_path, embedding_words=["background"], embedding_lr=0.05)
    pipe = StableDiffusionPipeline.from_pretrained(folders["sd15"])
    pipe.load_textual_inversion(str(tmp_path / WORD_FILES / "background.safetensors"), token="<background>")
    loaded = dataclasses.replace(recorder.base, text_encoder=pipe.text_encoder, tokenizer=pipe.tokenizer)
    with torch.no_grad():
        encoded = models.encode_prompts(loaded, [PROMPT[0].replace("background", "<background>")])[0]
    torch.testing.assert_close(encoded, recorder.trained_text)


@pytest.mark.parametrize("family", ["sd15", "sd2"])
def test_samples_are_drawn_with_the_familys_pipeline(family, folders):
    base = models.load(str(folders[family]), torch.device("cpu"))
    pipe = sampling.pipeline(base)
    assert type(pipe) is StableDiffusionPipeline and pipe.unet is base.unet
    assert pipe.scheduler.config.prediction_type == base.noise_scheduler.config.prediction_type
    images = sampling.draw(pipe, [sampling.SamplePrompt(PROMPT[0], seed=1)], steps=2, cfg_scale=2.0, resolution=32)
    assert images[0].size == (32, 32)
