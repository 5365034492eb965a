"""Build the CLIP tokenizer that models/configs ships, from OpenCLIP's BPE file.

The hub's openai/clip-vit-large-patch14 tokenizer cannot be downloaded here, but
the package registry can: open_clip_torch's wheel holds bpe_simple_vocab_16e6.txt.gz,
the BPE that OpenAI's CLIP, OpenCLIP and that tokenizer all use.

    pip download open_clip_torch==3.3.0 --no-deps -d /tmp/oc
    .venv/bin/python scripts/make_clip_tokenizer.py /tmp/oc/open_clip_torch-3.3.0-py3-none-any.whl

writes models/configs/tokenizers/clip-l (CLIP ViT-L's: SD1.x, SDXL's first encoder)
and models/configs/tokenizers/open-clip (the same BPE padded with "!": SD2.x, SDXL's
second encoder; its vocabulary files are links to clip-l's).
"""

from __future__ import annotations

import argparse
import gzip
import json
import zipfile
from pathlib import Path

from transformers import CLIPTokenizer
from transformers.convert_slow_tokenizer import bytes_to_unicode

OUT = Path(__file__).resolve().parents[1] / "models" / "configs" / "tokenizers"
BPE_FILE = "open_clip/bpe_simple_vocab_16e6.txt.gz"
# CLIP's vocabulary: 256 bytes, 256 bytes ending a word, 48894 merges, 2 special tokens.
MERGES = 49152 - 256 - 2
SPECIAL = ["<|startoftext|>", "<|endoftext|>"]
PAD_TOKENS = {"clip-l": "<|endoftext|>", "open-clip": "!"}
# Ids from the hub's openai/clip-vit-large-patch14 tokenizer.
KNOWN_IDS = {"a photo of a cat": [49406, 320, 1125, 539, 320, 2368, 49407]}


def read_merges(wheel: Path) -> list[str]:
    with zipfile.ZipFile(wheel) as archive:
        lines = gzip.decompress(archive.read(BPE_FILE)).decode("utf-8").split("\n")
    return lines[1 : MERGES + 1]  # the first line is a version header


def vocabulary(merges: list[str]) -> dict[str, int]:
    # The order of OpenAI's simple_tokenizer.py, which fixes every token's id.
    byte_tokens = list(bytes_to_unicode().values())
    tokens = byte_tokens + [token + "</w>" for token in byte_tokens] + [merge.replace(" ", "") for merge in merges] + SPECIAL
    return {token: index for index, token in enumerate(tokens)}


def tokenizer_config(pad_token: str) -> dict:
    return {
        "tokenizer_class": "CLIPTokenizer",
        "bos_token": SPECIAL[0],
        "eos_token": SPECIAL[1],
        "unk_token": SPECIAL[1],
        "pad_token": pad_token,
        "do_lower_case": True,
        "model_max_length": 77,
    }


def write(wheel: Path) -> None:
    merges = read_merges(wheel)
    shared = OUT / "clip-l"
    for name, pad_token in PAD_TOKENS.items():
        folder = OUT / name
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "tokenizer_config.json").write_text(json.dumps(tokenizer_config(pad_token), indent=2) + "\n")
    (shared / "vocab.json").write_text(json.dumps(vocabulary(merges), ensure_ascii=False) + "\n", encoding="utf-8")
    (shared / "merges.txt").write_text("#version: 0.2\n" + "\n".join(merges) + "\n", encoding="utf-8")
    for file in ("vocab.json", "merges.txt"):
        link = OUT / "open-clip" / file
        link.unlink(missing_ok=True)
        link.symlink_to(Path("..") / "clip-l" / file)


def check() -> None:
    for name in PAD_TOKENS:
        tokenizer = CLIPTokenizer.from_pretrained(OUT / name)
        assert len(tokenizer) == 49408, (name, len(tokenizer))
        for text, ids in KNOWN_IDS.items():
            assert tokenizer(text).input_ids == ids, (name, text, tokenizer(text).input_ids)
        print(f"{name}: {len(tokenizer)} tokens, pad {tokenizer.pad_token!r} = {tokenizer.pad_token_id}; known ids match")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("wheel", type=Path, help="open_clip_torch's wheel (pip download open_clip_torch --no-deps)")
    write(parser.parse_args().wheel)
    check()
