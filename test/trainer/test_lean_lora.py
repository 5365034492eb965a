"""LeanLoCon (trainer/methods/lean_lora.py) computes what LyCORIS's LoConModule computes, output and gradients,
with the update's scale on the up matrix instead of the activations, and keeps its file."""

import pytest
import torch
from lycoris.modules.locon import LoConModule
from torch.utils._python_dispatch import TorchDispatchMode

from trainer import config as configs
from trainer.methods import METHODS, LeanLoCon

LAYERS = {
    "linear": (lambda: torch.nn.Linear(12, 10), (2, 5, 12)),
    "linear without bias": (lambda: torch.nn.Linear(12, 10, bias=False), (2, 5, 12)),
    "conv 3x3": (lambda: torch.nn.Conv2d(6, 8, 3, padding=1), (2, 6, 7, 7)),
    "strided conv": (lambda: torch.nn.Conv2d(6, 8, 3, stride=2, padding=1), (2, 6, 7, 7)),
}


def wrapped(cls, layer, **options):
    """`layer` wrapped by a module of `cls` with a rank-4 update of alpha 2 and a max-norm scalar of 0.5, all nonzero."""
    torch.manual_seed(0)
    module = cls("lora_x", layer, 1.0, 4, 2, bypass_mode=True, **options)
    torch.nn.init.normal_(module.lora_up.weight)
    module.scalar.fill_(0.5)
    module.apply_to()
    return module


def output_and_grads(cls, kind, autocast=False, multiplier=1.0, input_grad=True, **options):
    make, shape = LAYERS[kind]
    torch.manual_seed(1)
    layer = make().requires_grad_(False)
    module = wrapped(cls, layer, **options)
    module.multiplier = multiplier
    x = torch.randn(shape, requires_grad=input_grad)
    torch.manual_seed(2)  # the dropouts' draws
    with torch.autocast("cpu", torch.bfloat16, enabled=autocast):
        y = layer(x)
    y.float().square().sum().backward()
    return [y.float(), x.grad, module.lora_down.weight.grad, module.lora_up.weight.grad]


@pytest.mark.parametrize("kind", LAYERS)
@pytest.mark.parametrize("multiplier", [1.0, 1.25])
def test_the_same_output_and_gradients_as_lycoris(kind, multiplier):
    theirs = output_and_grads(LoConModule, kind, multiplier=multiplier)
    ours = output_and_grads(LeanLoCon, kind, multiplier=multiplier)
    for a, b in zip(ours, theirs):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)


def test_an_input_that_needs_no_gradient():
    theirs = output_and_grads(LoConModule, "linear", input_grad=False)
    ours = output_and_grads(LeanLoCon, "linear", input_grad=False)
    assert ours[1] is None
    for a, b in zip(ours[2:], theirs[2:]):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)


class ActivationPasses(TorchDispatchMode):
    """Counts the ops that write a tensor of the layer's output's size other than by a matrix multiply."""

    def __init__(self, numel):
        super().__init__()
        self.numel, self.ops = numel, []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        if isinstance(out, torch.Tensor) and out.numel() == self.numel and func.__name__.split(".")[0] not in ("mm", "addmm", "addmm_", "view", "_unsafe_view", "reshape", "t", "detach"):
            self.ops.append(func.__name__)
        return out


def test_on_a_linear_layer_the_update_joins_inside_the_matrix_multiply():
    layer = torch.nn.Linear(12, 10).requires_grad_(False)
    wrapped(LeanLoCon, layer)
    x = torch.randn(2, 5, 12, requires_grad=True)
    with ActivationPasses(x.numel() // 12 * 10) as outputs:
        y = layer(x)
    with ActivationPasses(x.numel()) as inputs:
        y.backward(torch.ones_like(y))
    assert outputs.ops == [] and inputs.ops == []


def test_autograd_keeps_one_node_per_layer():
    # casts and scaling inside the function: fewer nodes for the CPU to walk each backward, which batch 1 on a GPU waits on
    layer = torch.nn.Linear(12, 10).requires_grad_(False)
    wrapped(LeanLoCon, layer)
    y = layer(torch.randn(2, 5, 12, requires_grad=True))
    nodes, stack = [], [y.grad_fn]
    while stack:
        node = stack.pop()
        nodes.append(type(node).__name__)
        stack += [next_node for next_node, _ in node.next_functions if next_node is not None]
    assert sorted(nodes) == ["AccumulateGrad"] * 3 + ["LoRALinearBackward"]  # the input, down and up


def test_other_paths_keep_the_separate_sum():
    layer = torch.nn.Linear(12, 10).requires_grad_(False)
    module = wrapped(LeanLoCon, layer, dropout=0.5)
    assert not module.joins_in_matmul(layer)
    module.eval()
    assert module.joins_in_matmul(layer)  # dropout is off when not training
    trained = torch.nn.Linear(12, 10)  # a base layer that trains itself needs its own gradients
    assert not wrapped(LeanLoCon, trained).joins_in_matmul(trained)


@pytest.mark.parametrize("kind", LAYERS)
def test_under_autocast_too_within_bf16_rounding(kind):
    theirs = output_and_grads(LoConModule, kind, autocast=True)
    ours = output_and_grads(LeanLoCon, kind, autocast=True)
    assert ours[0].dtype == theirs[0].dtype
    for a, b in zip(ours, theirs):
        assert ((a - b).norm() / b.norm()).item() < 0.02


def test_the_dropouts_keep_their_meaning():
    # dropout on the update's outputs is applied by the lean path; rank dropout's mask between down and up by LyCORIS's
    for options in ({"dropout": 0.5}, {"rank_dropout": 0.5}):
        theirs = output_and_grads(LoConModule, "linear", **options)
        ours = output_and_grads(LeanLoCon, "linear", **options)
        for a, b in zip(ours, theirs):
            torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)


def test_lora_and_locon_run_on_it_and_save_lycoris_keys(base):
    for name in ("lora", "locon"):
        adapter = METHODS[name].create(base, configs.load({"method": {"name": name}}).method)
        try:
            assert {type(m) for m in adapter.modules()} == {LeanLoCon}
            assert all(key.endswith(("lora_down.weight", "lora_up.weight", ".alpha")) for key in adapter.state_dict())
        finally:
            adapter.remove()
