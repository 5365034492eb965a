"""shapes-xl: Stable Diffusion XL's architecture in miniature.

The same diffusers/transformers classes as SDXL, with the same wiring, only
smaller, so the one training loop serves both:

    SDXL (stabilityai/stable-diffusion-xl-base-1.0)    shapes-xl
    VAE: 4 blocks, /8, 4 latent channels               3 blocks, /4, 4 latent channels
    text_encoder: CLIP-L, hidden 768, 12 layers        hidden 32, 2 layers
    text_encoder_2: OpenCLIP-G, hidden 1280, proj 1280 hidden 64, 2 layers, proj 64
    UNet cross_attention_dim 2048 = 768 + 1280         96 = 32 + 64
    UNet add embedding: 6 * 256 + 1280 = 2816          6 * 8 + 64 = 112
    77 tokens                                          32 tokens

64x64 images become 16x16x4 latents. The configs here are the architecture;
`python -m trainer.pretrain` builds them with random weights and trains them.
"""

from __future__ import annotations

import json
from pathlib import Path

from diffusers import AutoencoderKL, EulerDiscreteScheduler, UNet2DConditionModel
from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection, CLIPTokenizer

from trainer import shapes

MAX_TOKENS = 32
TEXT_1_HIDDEN = 32
TEXT_2_HIDDEN = 64
TEXT_2_PROJECTION = 64
ADD_TIME_EMBED_DIM = 8
BOS, EOS = "<|startoftext|>", "<|endoftext|>"


# ---- tokenizer --------------------------------------------------------------


def _bytes_to_unicode() -> dict[int, str]:
    """CLIP's byte -> printable character table (the alphabet its BPE works on)."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, (chr(c) for c in cs)))


def _bpe(word: str, ranks: dict[tuple[str, str], int]) -> list[str]:
    """CLIP's BPE of one word: repeatedly merge the lowest-ranked adjacent pair."""
    tokens = list(word[:-1]) + [word[-1] + "</w>"]
    while len(tokens) > 1:
        pairs = [(ranks.get(p, 1 << 30), i) for i, p in enumerate(zip(tokens, tokens[1:]))]
        rank, i = min(pairs)
        if rank == 1 << 30:
            break
        tokens[i : i + 2] = [tokens[i] + tokens[i + 1]]
    return tokens


def tokenizer_files(words: list[str]) -> tuple[dict[str, int], list[str]]:
    """vocab.json and merges.txt contents in which each word is one token "word</w>".

    The vocabulary starts with CLIP's 512 single-character tokens (with and
    without the end-of-word mark), so any text still tokenizes, letter by
    letter. Merges are appended per word: a merge added after all earlier ones
    only fires once no earlier merge applies, so it can never split a word that
    already became one token.
    """
    alphabet = list(_bytes_to_unicode().values())
    vocab_list = alphabet + [c + "</w>" for c in alphabet]
    merges: list[tuple[str, str]] = []
    ranks: dict[tuple[str, str], int] = {}
    for word in words:
        tokens = _bpe(word, ranks)
        while len(tokens) > 1:
            pair = (tokens[0], tokens[1])
            ranks[pair] = len(merges)
            merges.append(pair)
            vocab_list.append(pair[0] + pair[1])
            tokens = [pair[0] + pair[1]] + tokens[2:]
    vocab_list += [BOS, EOS]
    vocab = {}
    for token in vocab_list:
        vocab.setdefault(token, len(vocab))
    return vocab, [f"{a} {b}" for a, b in merges]


def write_tokenizer(folder: Path) -> CLIPTokenizer:
    """Write vocab.json + merges.txt (the files a real SDXL tokenizer folder has) and load them back."""
    folder.mkdir(parents=True, exist_ok=True)
    vocab, merges = tokenizer_files(shapes.vocabulary())
    (folder / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False, indent=0) + "\n")
    (folder / "merges.txt").write_text("#version: 0.2\n" + "\n".join(merges) + "\n")
    return CLIPTokenizer.from_pretrained(folder, model_max_length=MAX_TOKENS, bos_token=BOS, eos_token=EOS, unk_token=EOS, pad_token=EOS)


# ---- models -----------------------------------------------------------------


def text_encoder_config(vocab_size: int, eos_token_id: int, bos_token_id: int, hidden: int, projection: int | None = None) -> CLIPTextConfig:
    return CLIPTextConfig(
        vocab_size=vocab_size,
        hidden_size=hidden,
        intermediate_size=hidden * 4,
        num_hidden_layers=2,
        num_attention_heads=2,
        max_position_embeddings=MAX_TOKENS,
        hidden_act="quick_gelu" if projection is None else "gelu",  # as CLIP-L / OpenCLIP-G
        projection_dim=projection or hidden,
        # The pooled output is read at the first EOS token; this must be our id.
        eos_token_id=eos_token_id,
        bos_token_id=bos_token_id,
        pad_token_id=eos_token_id,
    )


def vae() -> AutoencoderKL:
    return AutoencoderKL(
        in_channels=3,
        out_channels=3,
        down_block_types=("DownEncoderBlock2D",) * 3,  # two downsamples: /4
        up_block_types=("UpDecoderBlock2D",) * 3,
        block_out_channels=(16, 32, 32),
        layers_per_block=1,
        latent_channels=4,
        norm_num_groups=8,
        sample_size=64,
        force_upcast=False,
    )


def unet() -> UNet2DConditionModel:
    return UNet2DConditionModel(
        sample_size=16,
        in_channels=4,
        out_channels=4,
        # As SDXL: no attention at the highest resolution, cross-attention below.
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        block_out_channels=(24, 48),
        layers_per_block=1,
        transformer_layers_per_block=1,
        attention_head_dim=4,  # diffusers' name for the number of heads (SDXL: 5, 10, 20); 4 heads of 12
        norm_num_groups=8,
        cross_attention_dim=TEXT_1_HIDDEN + TEXT_2_HIDDEN,
        use_linear_projection=True,
        # SDXL's micro-conditioning: original size, crop corner and target size
        # (6 numbers) are each embedded in addition_time_embed_dim, then joined
        # with the pooled text embedding of text_encoder_2.
        addition_embed_type="text_time",
        addition_time_embed_dim=ADD_TIME_EMBED_DIM,
        projection_class_embeddings_input_dim=6 * ADD_TIME_EMBED_DIM + TEXT_2_PROJECTION,
    )


def scheduler() -> EulerDiscreteScheduler:
    # SDXL's noise schedule; training builds a DDPMScheduler from this config.
    return EulerDiscreteScheduler(
        num_train_timesteps=1000,
        beta_start=0.00085,
        beta_end=0.012,
        beta_schedule="scaled_linear",
        prediction_type="epsilon",
        timestep_spacing="leading",
        steps_offset=1,
    )


def text_encoders(tokenizer: CLIPTokenizer) -> tuple[CLIPTextModel, CLIPTextModelWithProjection]:
    ids = dict(vocab_size=len(tokenizer), eos_token_id=tokenizer.eos_token_id, bos_token_id=tokenizer.bos_token_id)
    return (
        CLIPTextModel(text_encoder_config(**ids, hidden=TEXT_1_HIDDEN)),
        CLIPTextModelWithProjection(text_encoder_config(**ids, hidden=TEXT_2_HIDDEN, projection=TEXT_2_PROJECTION)),
    )
