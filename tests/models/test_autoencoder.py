"""TabularAutoEncoder: shapes, mirrored widths, reconstruction error, checkpointing."""

from __future__ import annotations

import torch

from trainwell.models.autoencoder import TabularAutoEncoder


def test_reconstruction_has_the_input_shape_and_mirrored_widths() -> None:
    model = TabularAutoEncoder(6, (8, 4), latent_dim=2, dropout=0.0)
    x = torch.randn(5, 6)
    assert model(x).shape == (5, 6)
    assert [b[0].out_features for b in model.encoder.blocks] == [8, 4]  # type: ignore[index]
    assert [b[0].out_features for b in model.decoder.blocks] == [4, 8]  # type: ignore[index]
    assert model.encoder.head.out_features == 2


def test_reconstruction_error_is_the_mean_squared_error_per_row() -> None:
    model = TabularAutoEncoder(3, (4,), latent_dim=2, dropout=0.0).eval()
    x = torch.randn(4, 3)
    expected = ((model(x) - x) ** 2).mean(dim=1)
    assert torch.allclose(model.reconstruction_error(x), expected)
    assert model.reconstruction_error(x).shape == (4,)


def test_gradient_checkpointing_reaches_encoder_and_decoder() -> None:
    model = TabularAutoEncoder(3, (4,), latent_dim=2, dropout=0.0)
    model.enable_gradient_checkpointing()
    assert model.encoder.gradient_checkpointing and model.decoder.gradient_checkpointing
    model(torch.randn(2, 3)).sum().backward()
    assert all(p.grad is not None for p in model.parameters())
