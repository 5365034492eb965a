"""The shipped shapes-xl folder: a real diffusers SDXL folder, loadable offline."""

import torch
from diffusers import StableDiffusionXLPipeline

from trainer import models, shapes
from trainer.shapes import architecture


def test_every_vocabulary_word_is_one_token(base):
    for tokenizer in (base.tokenizer, base.tokenizer_2):
        for word in shapes.vocabulary():
            assert tokenizer.tokenize(word) == [f"{word}</w>"]
        # Unknown words still tokenize, letter by letter, without <unk>.
        assert tokenizer.unk_token not in tokenizer.tokenize("zebra")


def test_add_embedding_matches_sdxl_wiring(base):
    unet = base.unet.config
    assert unet.addition_embed_type == "text_time"
    assert unet.projection_class_embeddings_input_dim == 6 * unet.addition_time_embed_dim + base.text_encoder_2.config.projection_dim
    assert unet.cross_attention_dim == base.text_encoder.config.hidden_size + base.text_encoder_2.config.hidden_size


def test_prompt_encoding_shapes(base):
    embeds, pooled = models.encode_prompts(base, ["a red circle in the center on a white background"] * 2)
    assert embeds.shape == (2, architecture.MAX_TOKENS, base.unet.config.cross_attention_dim)
    assert pooled.shape == (2, base.text_encoder_2.config.projection_dim)


def test_pipeline_loads_and_samples_offline():
    pipe = StableDiffusionXLPipeline.from_pretrained(models.resolve("shapes-xl"))
    pipe.set_progress_bar_config(disable=True)
    image = pipe("a red circle", height=64, width=64, num_inference_steps=2, generator=torch.Generator().manual_seed(0)).images[0]
    assert image.size == (64, 64)
