"""Every method trains, saves in kohya's format, and loads back from the file alone to the same output."""

import json
import re
import random
import math
from pathlib import Path

import pytest
import torch
from diffusers import StableDiffusionXLPipeline, UNet2DConditionModel
from diffusers.loaders.lora_conversion_utils import _convert_unet_lora_key, _maybe_map_sgm_blocks_to_diffusers
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from trainer import config as configs
from trainer import models
from trainer.events import EventRecords
from trainer.methods import METHODS, load_adapter
from trainer.methods.kohya_names import file_names
from trainer.methods.targets import ATTENTION, ATTENTION_AND_CONV
from trainer.train import ADAPTER_FILE, train

CONFIGS = Path(__file__).resolve().parents[2] / "models" / "configs"
RUN = {"data": {"images": 4}, "optimizer": {"lr": 1e-2}, "training": {"max_steps": 3, "batch_size": 2, "seed": 0}}


def probe(unet):
    g = torch.Generator().manual_seed(1)
    x, t = torch.randn(2, 4, 16, 16, generator=g), torch.tensor([100, 700])
    cond = dict(
        encoder_hidden_states=torch.randn(2, 32, unet.config.cross_attention_dim, generator=g),
        added_cond_kwargs={"text_embeds": torch.randn(2, 64, generator=g), "time_ids": torch.tensor([[64.0, 64, 0, 0, 64, 64]] * 2)},
    )
    with torch.no_grad():
        return unet(x, t, **cond).sample


class Recorder(EventRecords):
    """Records events, and the trained UNet's output while the adapter is still applied."""

    def __init__(self, base):
        self.events = []
        super().__init__(self.events.append)
        self.base, self.trained = base, None

    def finished(self, step, seconds, adapter):
        self.trained = probe(self.base.unet)
        super().finished(step, seconds, adapter)


def run(base, run_dir, method: dict):
    recorder = Recorder(base)
    train({**RUN, "method": method}, run_dir, recorder, load_model=lambda *_: base)
    return recorder


@pytest.fixture(scope="module")
def fresh():
    """A second shapes-xl, never trained on: adapters are loaded onto it from their files alone."""
    return models.load("shapes-xl", torch.device("cpu"))


@pytest.mark.parametrize("name", METHODS.names())
def test_method_trains_saves_and_reloads_to_the_same_output(name, base, fresh, tmp_path):
    before = probe(base.unet)
    recorder = run(base, tmp_path, {"name": name})
    assert recorder.events[-1]["type"] == "finished", recorder.events[-1]
    assert all(math.isfinite(e["loss"]) for e in recorder.events if e["type"] == "step")
    assert not torch.allclose(recorder.trained, before)  # training changed the output
    with safe_open(str(tmp_path / ADAPTER_FILE), "pt") as f:
        keys, metadata = list(f.keys()), f.metadata()
    assert keys and all(k.startswith("lora_unet_") for k in keys)
    assert not any("down_blocks" in k or "up_blocks" in k or "mid_block" in k for k in keys)  # LDM names, as kohya writes for SDXL
    assert json.loads(metadata["ss_network_args"])["algo"] and metadata["ss_network_module"] == "lycoris.kohya"
    assert metadata["ss_steps"] == "3" and metadata["ss_base_model_version"] == "sdxl_base_v1-0"
    adapter = load_adapter(tmp_path / ADAPTER_FILE, fresh)
    try:
        torch.testing.assert_close(probe(fresh.unet), recorder.trained, rtol=1e-4, atol=1e-5)
    finally:
        adapter.remove()
    torch.testing.assert_close(probe(base.unet), before)  # the cached base model is restored


def test_full_trains_every_unet_weight(base):
    unet_weights = sum(p.numel() for p in base.unet.parameters())
    adapter = METHODS["full"].create(base, configs.load({"method": {"name": "full"}}).method)
    try:
        assert sum(p.numel() for p in adapter.parameters()) == unet_weights
    finally:
        adapter.remove()
    assert not any(p.requires_grad for p in base.unet.parameters())


@pytest.mark.parametrize("name", ["lora", "locon"])
def test_diffusers_loads_lora_and_locon_to_the_same_output(name, base, tmp_path):
    """diffusers' load_lora_weights (PEFT), a real client of kohya files, applies the adapter as we trained it."""
    before = probe(base.unet)
    recorder = run(base, tmp_path, {"name": name})
    pipe = StableDiffusionXLPipeline.from_pretrained(models.resolve("shapes-xl"))
    pipe.load_lora_weights(str(tmp_path / ADAPTER_FILE))
    loaded = probe(pipe.unet)
    assert not torch.allclose(loaded, before)
    torch.testing.assert_close(loaded, recorder.trained, rtol=1e-4, atol=1e-5)


def test_text_encoders_train_with_their_own_lr(base, fresh, tmp_path):
    prompt = ["a red circle in the center on a white background"]
    recorder = run(base, tmp_path, {"name": "lora", "train_text_encoder": True, "unet_lr": 1e-2, "text_encoder_lr": 5e-3})
    steps = [e for e in recorder.events if e["type"] == "step"]
    assert steps and all(e["lrs"] == [1e-2, 5e-3] for e in steps)
    with safe_open(str(tmp_path / ADAPTER_FILE), "pt") as f:
        prefixes = {k.split("_")[1] for k in f.keys()}
    assert prefixes == {"unet", "te1", "te2"}
    with torch.no_grad():
        frozen = models.encode_prompts(fresh, prompt)[0]
        adapter = load_adapter(tmp_path / ADAPTER_FILE, fresh)
        try:
            assert not torch.allclose(models.encode_prompts(fresh, prompt)[0], frozen)
        finally:
            adapter.remove()


@pytest.mark.parametrize(
    ("method", "field", "message"),
    [
        ({"name": "nope"}, "method.name", "lora"),
        ({"name": "oft", "block_size": 7}, "method.block_size", "width 48"),
        ({"name": "boft", "block_size": 4}, "method.block_size", "width 48"),
        ({"name": "dylora", "rank": 6, "block_size": 4}, "method.block_size", "rank 6"),
        ({"name": "lora", "text_encoder_lr": 1e-4}, "method.text_encoder_lr", "train_text_encoder"),
    ],
)
def test_bad_method_config_fails_naming_the_field(method, field, message, base, tmp_path):
    events = []
    train({**RUN, "method": method}, tmp_path, EventRecords(events.append), load_model=lambda *_: base)
    assert [e["type"] for e in events] == ["failed"]
    assert field in events[0]["error"] and message in events[0]["error"], events[0]["error"]


def meta_unet(config_file: str) -> UNet2DConditionModel:
    config = {k: v for k, v in json.loads((CONFIGS / config_file).read_text()).items() if not k.startswith("_")}
    with torch.device("meta"):
        return UNet2DConditionModel(**config)


@pytest.mark.parametrize("config_file", ["sdxl-unet.json", "sd15-unet.json"])
def test_kohya_names_follow_the_ldm_layout(config_file):
    names = file_names(meta_unet(config_file), "lora_unet", "sgm")
    assert names["lora_unet_down_blocks_1_attentions_0_transformer_blocks_0_attn1_to_q"] == "lora_unet_input_blocks_4_1_transformer_blocks_0_attn1_to_q"
    assert names["lora_unet_mid_block_attentions_0_proj_in"] == "lora_unet_middle_block_1_proj_in"
    assert names["lora_unet_down_blocks_0_downsamplers_0_conv"] == "lora_unet_input_blocks_3_0_op"
    assert names["lora_unet_down_blocks_0_resnets_0_time_emb_proj"] == "lora_unet_input_blocks_1_0_emb_layers_1"
    assert names["lora_unet_up_blocks_0_resnets_2_conv_shortcut"] == "lora_unet_output_blocks_2_0_skip_connection"
    # The upsampler follows the level's attention, if it has one: SDXL's first up level does, SD1.5's does not.
    assert names["lora_unet_up_blocks_0_upsamplers_0_conv"] == ("lora_unet_output_blocks_2_2_conv" if "xl" in config_file else "lora_unet_output_blocks_2_1_conv")
    assert len(set(names.values())) == len(names)  # no two modules share a name


def targeted_layers(unet, targets) -> set[str]:
    classes = set(targets.unet)
    return {f"{path}.{name}".strip(".") for path, module in unet.named_modules() if type(module).__name__ in classes for name, layer in module.named_modules() if isinstance(layer, (torch.nn.Linear, torch.nn.Conv2d))}


@pytest.mark.parametrize(
    ("config_file", "targets"),
    # diffusers' converter puts an upsampler of an up level without attention (SD1.5's first) under
    # "attentions", so SD1.5 is checked on the attention layers LoRA targets.
    [("sdxl-unet.json", ATTENTION_AND_CONV), ("sd15-unet.json", ATTENTION), (None, ATTENTION_AND_CONV)],
)
def test_diffusers_maps_every_kohya_name_back_to_its_layer(config_file, targets, base):
    unet = meta_unet(config_file) if config_file else base.unet
    names = file_names(unet, "lora_unet", "sgm")
    layers = targeted_layers(unet, targets)
    state_dict = {names["lora_unet_" + path.replace(".", "_")] + ".lora_down.weight": path for path in layers}
    for kohya_key, path in state_dict.items():
        (key,) = _maybe_map_sgm_blocks_to_diffusers({kohya_key: None}, unet.config)
        diffusers_path = _convert_unet_lora_key(key).removesuffix(".lora.down.weight").replace(".processor", "")
        diffusers_path = diffusers_path.replace("to_out_lora.down.weight", "to_out.0").replace("_lora.down.weight", "")
        assert diffusers_path == path, kohya_key


@pytest.mark.parametrize("name", ["lora", "loha", "oft"])
def test_the_adapter_lives_on_the_models_device(name, base):
    """LyCORIS builds its layers on the CPU; on a GPU run they must follow the UNet (here: the meta device stands in)."""
    import copy

    on_meta = copy.copy(base)
    on_meta.unet = copy.deepcopy(base.unet).to("meta")
    adapter = METHODS[name].create(on_meta, configs.load({"method": {"name": name}}).method)
    try:
        assert {p.device.type for p in adapter.parameters()} == {"meta"}
    finally:
        adapter.remove()


def largest_update_norm(path: Path, base) -> float:
    adapter = load_adapter(path, base)
    try:
        with torch.no_grad():
            return max(float(m.make_weight(m.device).norm() * m.scale) for m in adapter.modules())
    finally:
        adapter.remove()


def test_scale_weight_norms_keeps_every_module_update_under_it(base, tmp_path):
    runs = {}
    for limit in (None, 0.02):
        run = tmp_path / str(limit)
        run.mkdir()
        events = []
        config = {"method": {"name": "lora"}, "optimizer": {"lr": 1e-2}, "data": {"images": 4}, "training": {"max_steps": 5, "batch_size": 2, "scale_weight_norms": limit}}
        train(config, run, EventRecords(events.append), load_model=lambda *_: base)
        assert events[-1]["type"] == "finished", events[-1]
        runs[limit] = largest_update_norm(run / ADAPTER_FILE, base)
    assert runs[None] > 0.02  # the limit binds, so the test can tell
    assert runs[0.02] <= 0.02 * 1.001


def test_scale_weight_norms_is_refused_for_a_method_without_norms(base, tmp_path):
    events = []
    train({"method": {"name": "ia3"}, "training": {"max_steps": 2, "scale_weight_norms": 1}}, tmp_path, EventRecords(events.append), load_model=lambda *_: base)
    assert [e["type"] for e in events] == ["failed"]
    assert events[0]["error"].startswith("training.scale_weight_norms: method ia3 has no weight norm to limit"), events[0]["error"]


def test_the_methods_with_norms_to_limit_are_those_the_editor_names(base):
    """core/src/config/advice.ts (NORMED) warns about the others before a run; the lists must agree."""
    normed = set()
    for name in METHODS.names():
        adapter = METHODS[name].create(base, configs.load({"method": {"name": name}}).method)
        try:
            adapter.check_max_norm()
            normed.add(name)
        except configs.ConfigError:
            pass
        finally:
            adapter.remove()
    assert normed == {"lora", "locon", "loha", "lokr", "oft", "boft", "dora"}


def dropout_readers(base, monkeypatch) -> dict[str, set[str]]:
    """Which methods' modules each dropout reaches, measured: an output that varies with the random state in training mode."""
    monkeypatch.setattr("trainer.methods.check_readers", lambda config: None)  # try every pair, refused ones too
    readers = {field: set() for field in ("dropout", "rank_dropout", "module_dropout")}
    for name in METHODS.names():
        for field in readers:
            adapter = METHODS[name].create(base, configs.load({"method": {"name": name, field: 0.5}}).method)
            try:
                with torch.no_grad():  # away from the identity, so that dropping a part of it shows
                    for p in adapter.parameters():
                        p.add_(torch.randn_like(p, generator=torch.Generator().manual_seed(p.numel())) * 0.05)
                outputs = []
                for seed in (0, 1):
                    random.seed(0)  # DyLoRA's rank draw held still: only the dropouts' torch draws differ
                    torch.manual_seed(seed)
                    outputs.append(probe(base.unet))
                if not torch.equal(*outputs):
                    readers[field].add(name)
                adapter.eval()
                torch.testing.assert_close(probe(base.unet), probe(base.unet))  # never in eval
            finally:
                adapter.remove()
    return readers


def test_each_dropout_and_loraplus_reach_the_methods_the_schema_names(base, monkeypatch):
    """The schema's x-methods are what the trainer refuses by and the editor warns by; here they meet what LyCORIS does."""
    declared = {field: set(spec["x-methods"]) for field, spec in configs.schema()["properties"]["method"]["properties"].items() if "x-methods" in spec}
    measured = dropout_readers(base, monkeypatch)
    measured["loraplus_lr_ratio"] = set()  # LoRA+ speeds up the up matrices: the methods that have one
    for name in METHODS.names():
        adapter = METHODS[name].create(base, configs.load({"method": {"name": name}}).method)
        try:
            if any("lora_up" in param for _, network in adapter.networks for param, _ in network.named_parameters()):
                measured["loraplus_lr_ratio"].add(name)
        finally:
            adapter.remove()
    assert measured == declared


def test_loraplus_trains_the_up_matrices_at_ratio_times_the_lr(base, tmp_path):
    config = {"method": {"name": "lora", "train_text_encoder": True, "unet_lr": 1e-3, "text_encoder_lr": 5e-4, "loraplus_lr_ratio": 16}}
    adapter = METHODS["lora"].create(base, configs.load(config).method)
    try:
        groups = adapter.param_groups(1e-2)
        assert [(g["name"], g["lr"]) for g in groups] == [("unet", 1e-3), ("unet, LoRA+ up", 16e-3), ("text_encoder", 5e-4), ("text_encoder, LoRA+ up", 8e-3)]
        up_params = {id(p) for _, network in adapter.networks for n, p in network.named_parameters() if "lora_up" in n}
        assert all((id(p) in up_params) == ("LoRA+" in g["name"]) for g in groups for p in g["params"])
        assert sum(len(g["params"]) for g in groups) == len(adapter.parameters())
    finally:
        adapter.remove()
    events = []
    train({**RUN, **config}, tmp_path, EventRecords(events.append), load_model=lambda *_: base)
    assert events[-1]["type"] == "finished", events[-1]
    assert next(e for e in events if e["type"] == "started")["lr_groups"] == ["unet", "unet, LoRA+ up", "text_encoder", "text_encoder, LoRA+ up"]
    assert next(e for e in events if e["type"] == "step")["lrs"] == [1e-3, 16e-3, 5e-4, 8e-3]
    with safe_open(str(tmp_path / ADAPTER_FILE), "pt") as f:
        assert f.metadata()["ss_loraplus_lr_ratio"] == "16" and f.metadata()["ss_unet_lr"] == "0.001"


def test_a_dropout_the_method_would_ignore_is_refused(base, tmp_path):
    events = []
    train({**RUN, "method": {"name": "oft", "dropout": 0.1}}, tmp_path, EventRecords(events.append), load_model=lambda *_: base)
    assert [e["type"] for e in events] == ["failed"]
    assert events[0]["error"] == "method.dropout: method oft does not apply it (lora, locon, loha, lokr, glora do); remove it"


def test_dropouts_act_while_training_only_and_are_recorded(base, fresh, tmp_path):
    dropouts = {"dropout": 0.2, "rank_dropout": 0.25, "module_dropout": 0.1}
    recorder = run(base, tmp_path, {"name": "lora", **dropouts})
    assert recorder.events[-1]["type"] == "finished", recorder.events[-1]
    with safe_open(str(tmp_path / ADAPTER_FILE), "pt") as f:
        metadata = f.metadata()
    assert metadata["ss_network_dropout"] == "0.2"
    assert json.loads(metadata["ss_network_args"])["rank_dropout"] == "0.25" and json.loads(metadata["ss_network_args"])["module_dropout"] == "0.1"
    adapter = load_adapter(tmp_path / ADAPTER_FILE, fresh)  # in eval: the whole adapter, as it was sampled at the end
    try:
        torch.testing.assert_close(probe(fresh.unet), recorder.trained, rtol=1e-4, atol=1e-5)
    finally:
        adapter.remove()


def test_rank_dropout_scale_keeps_the_average_training_update_at_the_sampled_size(base):
    """Unscaled, rank dropout 0.3 trains on 0.7 of the update that sampling applies; scaled (as sd-scripts' networks.lora), on all of it."""
    before = probe(base.unet)
    ratios = {}
    for scale in (False, True):
        adapter = METHODS["lora"].create(base, configs.load({"method": {"name": "lora", "rank_dropout": 0.3, "rank_dropout_scale": scale}}).method)
        try:
            with torch.no_grad():
                for p in adapter.parameters():
                    p.add_(torch.randn_like(p, generator=torch.Generator().manual_seed(p.numel())) * 0.01)
            trained = []
            for seed in range(40):
                torch.manual_seed(seed)
                trained.append(probe(base.unet) - before)
            adapter.eval()
            sampled = probe(base.unet) - before
            ratios[scale] = (torch.stack(trained).mean(0) * sampled).sum().item() / (sampled * sampled).sum().item()
        finally:
            adapter.remove()
    assert ratios[False] == pytest.approx(0.7, abs=0.05)
    assert ratios[True] == pytest.approx(1.0, abs=0.05)


@pytest.fixture(scope="module")
def trained(base, tmp_path_factory):
    """A finished 3-step LoRA run (rank 8, alpha 8), under runs root `root` as run "first"."""
    root = tmp_path_factory.mktemp("runs")
    (root / "first").mkdir()
    recorder = run(base, root / "first", {"name": "lora"})
    assert recorder.events[-1]["type"] == "finished"
    return root, recorder.trained


def test_start_from_loads_a_trained_adapter_by_run_id(base, trained):
    root, output = trained
    (root / "second").mkdir()
    recorder = Recorder(base)
    train({**RUN, "method": {"name": "lora", "start_from": "first"}, "optimizer": {"lr": 1e-9}}, root / "second", recorder, load_model=lambda *_: base)
    assert recorder.events[-1]["type"] == "finished", recorder.events[-1]
    started = next(e for e in recorder.events if e["type"] == "started")["started_from"]
    assert started["file"] == ADAPTER_FILE and started["loaded"] > 0 and started["missing"] == started["unused"] == 0
    torch.testing.assert_close(recorder.trained, output, rtol=1e-4, atol=1e-4)  # 3 steps at LR 1e-9 change nothing measurable


def test_start_from_leaves_out_what_the_method_has_no_place_for(base, trained, tmp_path):
    root, output = trained
    weights = load_file(str(root / "first" / ADAPTER_FILE))
    extra = {"lora_unet_input_blocks_4_1_proj_in.lora_down.weight": torch.zeros(8, 64)}  # sd-scripts' LoRA wraps proj_in too
    save_file({**weights, **extra}, str(tmp_path / "kohya.safetensors"))
    adapter = METHODS["lora"].create(base, configs.load({"method": {"name": "lora"}}).method)
    try:
        report = adapter.start_from(tmp_path / "kohya.safetensors")
        adapter.eval()
        torch.testing.assert_close(probe(base.unet), output, rtol=1e-4, atol=1e-5)
    finally:
        adapter.remove()
    assert report == {"file": "kohya.safetensors", "loaded": len(weights), "missing": 0, "unused": 1, "unused_examples": list(extra)}


@pytest.mark.parametrize(
    "method, error",
    [
        ({"name": "lora", "rank": 4, "alpha": 8}, r"\S+\.lora_down\.weight is \(8, \d+\) in adapter\.safetensors and \(4, \d+\) in this adapter; it looks like rank 8: set method.rank to it"),
        ({"name": "lora", "alpha": 1}, r"adapter\.safetensors was trained with alpha 8 \(.*\); set method.alpha to 8$"),
        ({"name": "loha"}, r"none of the \d+ tensors in adapter.safetensors has a place in this loha adapter"),
        ({"name": "lora", "start_from": "no-such-run"}, r"no adapter 'no-such-run' \(looked for runs/no-such-run/adapter.safetensors"),
    ],
)
def test_start_from_refuses_a_file_that_does_not_fit_before_training(base, trained, method, error):
    root, _ = trained
    events = []
    (root / "refused").mkdir(exist_ok=True)
    train({**RUN, "method": {"start_from": "first", **method}}, root / "refused", EventRecords(events.append), load_model=lambda *_: base)
    assert [e["type"] for e in events] == ["failed"]
    assert re.search(r"^method\.start_from: " + error, events[0]["error"]), events[0]["error"]


def test_retention_after_start_from_counts_against_the_base_model(base, trained, tmp_path):
    """The run's step-0 score is the started adapter's; the retention baseline stays the base model's own."""
    root, _ = trained
    weights = load_file(str(root / "first" / ADAPTER_FILE))
    save_file({k: v * 30 if "lora_up" in k else v for k, v in weights.items()}, str(tmp_path / "burnt.safetensors"))  # draws nothing right
    watched = {"eval": {"every": 3, "prompts": 4, "steps": 4}, "optimizer": {"lr": 1e-9}}
    scores = {}
    for name, method in {"plain": {"name": "lora"}, "started": {"name": "lora", "start_from": str(tmp_path / "burnt.safetensors")}}.items():
        events = []
        (tmp_path / name).mkdir()
        train({**RUN, **watched, "method": method}, tmp_path / name, EventRecords(events.append), load_model=lambda *_: base)
        assert events[-1]["type"] == "finished", events[-1]
        scores[name] = [e for e in events if e["type"] == "eval"]
    assert [e["base_score"] for e in scores["started"]] == [e["base_score"] for e in scores["plain"]]
    assert scores["plain"][0]["base_score"] > 0 and scores["started"][0]["retention"] < 1  # the burnt start is scored against the base


@pytest.mark.parametrize("precision, dtype", [("fp16", torch.float16), ("bf16", torch.bfloat16)])
def test_save_precision_halves_the_file_and_loads_back_close(base, fresh, tmp_path, precision, dtype):
    sizes = {}
    for name, saving in {"float": "float", "half": precision}.items():
        (tmp_path / name).mkdir()
        recorder = Recorder(base)
        train({**RUN, "method": {"name": "lora"}, "training": {**RUN["training"], "save_precision": saving}}, tmp_path / name, recorder, load_model=lambda *_: base)
        assert recorder.events[-1]["type"] == "finished", recorder.events[-1]
        sizes[name] = (tmp_path / name / ADAPTER_FILE).stat().st_size
    with safe_open(str(tmp_path / "half" / ADAPTER_FILE), "pt") as f:
        assert {f.get_tensor(k).dtype for k in f.keys()} == {dtype}
    assert sizes["half"] < 0.6 * sizes["float"]
    adapter = load_adapter(tmp_path / "half" / ADAPTER_FILE, fresh)
    try:
        torch.testing.assert_close(probe(fresh.unet), recorder.trained, rtol=1e-2, atol=1e-2)  # the same adapter, rounded
    finally:
        adapter.remove()
