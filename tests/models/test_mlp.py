"""TabularMLP: shapes, exact outputs, dropout modes, gradient checkpointing."""

from __future__ import annotations

import torch
from torch import nn

from trainwell.models.mlp import TabularMLP


def test_shapes_and_blocks() -> None:
    model = TabularMLP(5, 3, (8, 4), dropout=0.1)
    assert model(torch.randn(7, 5)).shape == (7, 3)
    assert [block[0].out_features for block in model.blocks] == [8, 4]  # type: ignore[index]
    linear = TabularMLP(5, 1, (), dropout=0.0)
    assert len(linear.blocks) == 0 and isinstance(linear.head, nn.Linear)


def test_exact_output_with_weights_set_by_hand() -> None:
    model = TabularMLP(2, 1, (2,), dropout=0.0)
    with torch.no_grad():
        linear = model.blocks[0][0]  # type: ignore[index]
        linear.weight.copy_(torch.tensor([[1.0, 0.0], [0.0, -1.0]]))
        linear.bias.zero_()
        model.head.weight.copy_(torch.tensor([[2.0, 3.0]]))
        model.head.bias.fill_(0.5)
    # relu([1, -2] -> [1, 2]) = [1, 2]; 2*1 + 3*2 + 0.5 = 8.5
    assert model(torch.tensor([[1.0, -2.0]])).item() == 8.5


def test_dropout_only_in_training_mode() -> None:
    model = TabularMLP(4, 2, (64,), dropout=0.5)
    x = torch.randn(3, 4)
    model.eval()
    assert torch.equal(model(x), model(x))
    model.train()
    torch.manual_seed(0)
    a = model(x)
    assert not torch.equal(a, model(x))


def test_gradient_checkpointing_gives_the_same_outputs_and_gradients() -> None:
    torch.manual_seed(0)
    plain = TabularMLP(4, 2, (16, 16), dropout=0.3)
    checkpointed = TabularMLP(4, 2, (16, 16), dropout=0.3)
    checkpointed.load_state_dict(plain.state_dict())
    checkpointed.enable_gradient_checkpointing()
    x = torch.randn(8, 4)
    grads = []
    for model in (plain, checkpointed):
        torch.manual_seed(1)  # the same dropout masks
        model(x).pow(2).sum().backward()
        grads.append([p.grad for p in model.parameters()])
    for a, b in zip(*grads, strict=True):
        assert a is not None and b is not None and torch.allclose(a, b)
