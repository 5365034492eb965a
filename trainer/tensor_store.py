"""Tensors computed once per key: for this run in memory, or also on disk for the next one.

The latent cache and the text-encoder cache both keep their entries here.
A key is a content hash that the caller builds from everything the entry
depends on (the input and the encoder's weights), so a changed input or a
swapped encoder makes a new key and is recomputed, never served stale.
"""

from __future__ import annotations

import hashlib
import weakref
from pathlib import Path
from typing import Callable

import torch
from safetensors.torch import load_file, save_file

CACHE_ROOT = Path(__file__).resolve().parents[1] / ".cache"
Entry = dict[str, torch.Tensor]
_fingerprints: "weakref.WeakKeyDictionary[torch.nn.Module, str]" = weakref.WeakKeyDictionary()


def fingerprint(module: torch.nn.Module) -> str:
    """A hash of a module's weights, computed once per loaded module."""
    if module not in _fingerprints:
        digest = hashlib.sha256()
        for name, tensor in sorted(module.state_dict().items()):
            digest.update(name.encode())
            digest.update(tensor.detach().cpu().contiguous().view(torch.uint8).numpy().tobytes())
        _fingerprints[module] = digest.hexdigest()
    return _fingerprints[module]


def key(*parts: str | bytes) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part if isinstance(part, bytes) else part.encode())
        digest.update(b"\0")  # so that ("ab", "c") and ("a", "bc") differ
    return digest.hexdigest()


class TensorStore:
    """mode `memory`: a dict for this run; `disk`: also root/<k[:2]>/<k>.safetensors, each written atomically."""

    def __init__(self, mode: str, root: Path):
        self.mode, self.root = mode, root
        self.entries: dict[str, Entry] = {}
        self.computed = 0  # entries that had to be computed (the rest were held or read from disk)

    def fill(self, keys: list[str], compute: Callable[[list[int]], list[Entry]]) -> None:
        """Make every key present: held, else read from disk, else compute(positions in `keys` of the missing ones), each once."""
        missing: dict[str, int] = {}
        for i, k in enumerate(keys):
            if k in self.entries or k in missing:
                continue
            if self.mode == "disk" and self._file(k).is_file():
                self.entries[k] = load_file(self._file(k))
            else:
                missing[k] = i
        for k, entry in zip(missing, compute(list(missing.values())) if missing else []):
            # Held on the CPU: an accelerator's memory is for the model; a batch moves its own entries over.
            self.entries[k] = {name: t.detach().cpu() for name, t in entry.items()}
            self.computed += 1
            if self.mode == "disk":
                self._write(k, self.entries[k])

    def __getitem__(self, k: str) -> Entry:
        return self.entries[k]

    def _file(self, k: str) -> Path:
        return self.root / k[:2] / f"{k}.safetensors"

    def _write(self, k: str, entry: Entry) -> None:
        path = self._file(k)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        save_file({name: t.contiguous() for name, t in entry.items()}, tmp)
        tmp.replace(path)  # atomic: a killed run never leaves a torn entry
