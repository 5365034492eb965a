"""What a piece of PyTorch work asks of a GPU, op by op: the FLOPs each op computes and the bytes it must read and
write, and from those the least time a card could run it in (a roofline).

A kernel can go no faster than its FLOPs at the card's peak nor than its bytes at the card's memory bandwidth, so
each op's floor is the larger of the two. Three floors follow, each what a step would take were every kernel perfect:
- eager: every op's floor summed, as eager PyTorch launches one kernel an op;
- fused: the matrix multiplies, convolutions and attention as they are, and each stretch of other ops between them
  fused into one kernel that reads what it needs once and writes what is needed after it once, as a compiler
  (inductor) fuses them;
- FLOP ops: the matrix multiplies, convolutions and attention alone, everything else fused into them for free.
The work's FLOPs over a floor give the best MFU that way of running could reach.

Works under FakeTensorMode too (nothing is computed, shapes and strides are enough), so a full-size SDXL step is
counted on a CPU. Bytes are each argument's and result's distinct elements (a broadcast one counts once; a view op
moves nothing): what the op must move if nothing it reads is already in cache.
"""

from __future__ import annotations

import functools
import itertools
import weakref
from dataclasses import dataclass

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_leaves
from torch.utils.flop_counter import flop_registry, sdpa_backward_flop, sdpa_flop, shape_wrapper

aten = torch.ops.aten


@shape_wrapper
def _inplace_addmm_flop(self_shape, a_shape, b_shape, *args, out_shape=None, **kwargs) -> int:
    return 2 * a_shape[0] * a_shape[1] * b_shape[1]


# torch's formulas, and three it lacks: the in-place addmm_, in which the trainer's LoRA update joins its layer's
# output (trainer/methods/lean_lora.py), and the CPU's flash attention (what a fake step on a CPU runs where CUDA runs
# cuDNN's or flash's), whose arguments begin as the CUDA kernels' do.
FLOP_FORMULAS = {
    **flop_registry,
    aten.addmm_: _inplace_addmm_flop,
    aten._scaled_dot_product_flash_attention_for_cpu: sdpa_flop,
    aten._scaled_dot_product_flash_attention_for_cpu_backward: sdpa_backward_flop,
}

WRITE_ONLY = {aten.copy_, aten.fill_, aten.zero_}  # in-place ops that overwrite their first argument without reading it
# allocations, and ops that give a new tensor over the same data without the schema of a view
NO_DATA = {aten.empty, aten.empty_like, aten.empty_strided, aten.new_empty, aten.new_empty_strided, aten._unsafe_view, aten.lift_fresh, aten._reshape_alias}


@dataclass(frozen=True)
class Card:
    part: str  # a part of torch.cuda.get_device_name() that names it
    flops: float  # dense bf16 tensor-core peak (no sparsity), FLOP/s
    bandwidth: float | None = None  # memory bandwidth, bytes/s: without it, no roofline


CARDS = [  # the first whose part is in the device's name wins
    Card("H100 PCIe", 756e12, 2.0e12),
    Card("H100", 989e12, 3.35e12),  # SXM (NVIDIA H100 80GB HBM3)
    Card("H200", 989e12, 4.8e12),
    Card("A100", 312e12, 2.0e12),  # 80 GB
    Card("RTX 4090", 165e12, 1.01e12),
]


def find_card(device_name: str) -> Card | None:
    return next((c for c in CARDS if c.part in device_name), None)


Access = tuple[int, int]  # a storage's serial number, and the bytes of it an op reads or writes


@dataclass(frozen=True)
class Op:
    name: str  # the aten op, e.g. "addmm_"
    flops: int
    reads: tuple[Access, ...]
    writes: tuple[Access, ...]

    @property
    def bytes(self) -> int:
        return sum(b for _, b in self.reads) + sum(b for _, b in self.writes)

    def seconds(self, card: Card) -> float:
        return max(self.flops / card.flops, self.bytes / card.bandwidth)


def distinct_bytes(tensor: torch.Tensor) -> int:
    """The bytes of the elements a tensor's view reaches, each once: an expanded (stride 0) dimension adds none."""
    elements = 1
    for size, stride in zip(tensor.shape, tensor.stride()):
        if stride != 0:
            elements *= size
    return elements * tensor.element_size()


def tensors(tree) -> list[torch.Tensor]:
    return [leaf for leaf in tree_leaves(tree) if isinstance(leaf, torch.Tensor)]


class Roofline(TorchDispatchMode):
    """`with Roofline() as work: ...`, then work.flops, work.bytes, and the floors: work.seconds(card),
    work.fused_seconds(card) and work.flop_op_seconds(card)."""

    def __init__(self):
        super().__init__()
        self.ops: list[Op] = []
        self._serials: dict[int, int] = {}  # id of a live storage's Python object -> its serial number
        self._next = itertools.count()
        self._outliving: set[int] = set()  # serials of the storages still alive when the work ended

    def __exit__(self, *exc):
        self._outliving = set(self._serials.values())
        return super().__exit__(*exc)

    def _access(self, tensor: torch.Tensor) -> Access:
        storage = tensor.untyped_storage()
        key = id(storage)  # a storage keeps one Python object for its whole life; a later one may reuse the id
        if key not in self._serials:
            self._serials[key] = next(self._next)
            weakref.finalize(storage, self._serials.pop, key, None)
        return self._serials[key], distinct_bytes(tensor)

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        packet = func._overloadpacket
        # Each op runs as itself, as one kernel: torch's FLOP counter decomposes those that have a decomposition
        # (silu_backward into four elementwise ops), which would count bytes that no kernel moves.
        out = func(*args, **kwargs)
        results = tensors(out)
        if not results or func.is_view or packet in NO_DATA:
            return out  # metadata, views and allocations move no data
        read = tensors((args[1:], kwargs)) if packet in WRITE_ONLY else tensors((args, kwargs))
        flops = FLOP_FORMULAS[packet](*args, **kwargs, out_val=out) if packet in FLOP_FORMULAS else 0
        self.ops.append(Op(packet.__name__, flops, tuple(map(self._access, read)), tuple(map(self._access, results))))
        return out

    @property
    def flops(self) -> int:
        return sum(op.flops for op in self.ops)

    @property
    def bytes(self) -> int:
        return sum(op.bytes for op in self.ops)

    def seconds(self, card: Card) -> float:
        """The floor with one kernel an op, as eager PyTorch runs it."""
        return sum(op.seconds(card) for op in self.ops)

    def flop_op_seconds(self, card: Card) -> float:
        """The floor of the matrix multiplies, convolutions and attention alone: every other op fused into them for free."""
        return sum(op.seconds(card) for op in self.ops if op.flops)

    def fused_seconds(self, card: Card) -> float:
        """The floor with each stretch of ops between two FLOP ops fused into one kernel, as a compiler fuses them
        (inductor leaves matrix multiplies, convolutions and attention to their libraries): a stretch reads once
        what it takes from before it, and writes once what is read after it, existed before it or outlives the
        work; what it makes and uses up itself stays on chip."""
        stretches = [list(group) for is_flop_op, group in itertools.groupby(enumerate(self.ops), key=lambda item: item[1].flops > 0) if not is_flop_op]
        return self.flop_op_seconds(card) + sum(map(self._stretch_bytes, stretches)) / card.bandwidth

    def _stretch_bytes(self, stretch: list[tuple[int, Op]]) -> int:
        first, last = stretch[0][0], stretch[-1][0]
        reads: dict[int, int] = {}
        writes: dict[int, int] = {}
        for _, op in stretch:
            for serial, moved in op.reads:
                if serial not in writes:  # made earlier in the stretch: still on chip
                    reads[serial] = max(reads.get(serial, 0), moved)
            for serial, moved in op.writes:
                writes[serial] = max(writes.get(serial, 0), moved)
        needed = {serial: moved for serial, moved in writes.items() if self._born[serial] < first or self._last_read.get(serial, -1) > last or serial in self._outliving}
        return sum(reads.values()) + sum(needed.values())

    @functools.cached_property
    def _born(self) -> dict[int, int]:
        """Each storage's first op; one that was read before any op here wrote it existed before the work: -1."""
        born: dict[int, int] = {}
        for i, op in enumerate(self.ops):
            for serial, _ in op.reads:
                born.setdefault(serial, -1)
            for serial, _ in op.writes:
                born.setdefault(serial, i)
        return born

    @functools.cached_property
    def _last_read(self) -> dict[int, int]:
        return {serial: i for i, op in enumerate(self.ops) for serial, _ in op.reads}

    def seconds_by_op(self, card: Card) -> dict[str, float]:
        """The eager floor's seconds, by aten op."""
        totals: dict[str, float] = {}
        for op in self.ops:
            totals[op.name] = totals.get(op.name, 0.0) + op.seconds(card)
        return totals
