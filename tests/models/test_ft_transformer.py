"""FTTransformerModel: the same numbers as rtdl's forward, shapes, gradient checkpointing."""

from __future__ import annotations

import torch

from trainwell.models.ft_transformer import FTTransformerModel


def _model() -> FTTransformerModel:
    torch.manual_seed(0)
    return FTTransformerModel(
        5,
        3,
        n_blocks=2,
        d_block=16,
        attention_n_heads=4,
        attention_dropout=0.1,
        ffn_d_hidden_multiplier=4 / 3,
        ffn_dropout=0.1,
        residual_dropout=0.0,
    )


def test_forward_equals_rtdl_forward_with_continuous_features() -> None:
    model = _model().eval()
    x = torch.randn(7, 5)
    assert model(x).shape == (7, 3)
    assert torch.equal(model(x), model.net(x, None))


def test_gradient_checkpointing_gives_the_same_gradients() -> None:
    plain, checkpointed = _model(), _model()
    checkpointed.enable_gradient_checkpointing()
    x = torch.randn(4, 5)
    grads = []
    for model in (plain, checkpointed):
        torch.manual_seed(1)
        model(x).sum().backward()
        grads.append([p.grad for p in model.parameters()])
    for a, b in zip(*grads, strict=True):
        assert a is not None and b is not None and torch.allclose(a, b, atol=1e-6)
