"""Peak memory of a piece of PyTorch work, counted from its tensors: what torch.cuda.max_memory_allocated reports,
on any device, fake tensors included.

Under FakeTensorMode nothing is allocated, so a full-size SDXL training step can be
run on a CPU in about a minute to learn how much GPU memory it would need.
Counted: every storage the work creates (activations kept for backward,
gradients, optimizer state, the adapter) and those passed in as `resident` (the
frozen weights), each once however many views share it, from its creation to
its last reference. Not counted: the allocator's rounding and fragmentation,
the CUDA context and library workspaces.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_leaves


class PeakBytes(TorchDispatchMode):
    """`with PeakBytes(model.parameters()) as memory: ...`, then memory.peak (bytes) and memory.now."""

    def __init__(self, resident: Iterable[torch.Tensor] = ()):
        super().__init__()
        self._live: dict[int, int] = {}  # id of a storage's Python object -> its bytes
        self.now = self.peak = 0
        for tensor in resident:
            self._track(tensor.untyped_storage())

    def _track(self, storage: torch.UntypedStorage) -> None:
        # A storage keeps one Python object for its whole life, so its id is its identity until it is freed.
        key = id(storage)
        if key in self._live:
            return
        self._live[key] = storage.nbytes()
        self.now += self._live[key]
        self.peak = max(self.peak, self.now)
        weakref.finalize(storage, self._free, key)

    def _free(self, key: int) -> None:
        self.now -= self._live.pop(key)

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        for leaf in tree_leaves(out):
            if isinstance(leaf, torch.Tensor):
                self._track(leaf.untyped_storage())
        return out
