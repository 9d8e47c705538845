"""A tabular autoencoder for anomaly detection: rows it reconstructs badly are anomalies.

    model = TabularAutoEncoder(n_features=30, hidden_dims=(64, 32), latent_dim=8, dropout=0.0)
    reconstruction = model(x)                  # (batch, n_features)
    error = model.reconstruction_error(x)      # (batch,) mean squared error per row

The encoder and decoder are :class:`~trainwell.models.mlp.TabularMLP` stacks (the decoder
mirrors the encoder's widths), so gradient checkpointing works the same way.
"""

from __future__ import annotations

from collections.abc import Sequence

from torch import Tensor, nn

from trainwell.models.mlp import TabularMLP


class TabularAutoEncoder(nn.Module):
    """Encoder ``n_features -> hidden_dims -> latent_dim``, decoder back to ``n_features``.

    Args:
        n_features: input (and output) width.
        hidden_dims: encoder block widths; the decoder uses them reversed.
        latent_dim: bottleneck width.
        dropout: dropout after each hidden block.
    """

    def __init__(
        self, n_features: int, hidden_dims: Sequence[int], latent_dim: int, dropout: float
    ) -> None:
        super().__init__()
        self.encoder = TabularMLP(n_features, latent_dim, hidden_dims, dropout)
        self.decoder = TabularMLP(latent_dim, n_features, list(reversed(hidden_dims)), dropout)

    def enable_gradient_checkpointing(self) -> None:
        """Recompute the encoder's and decoder's block activations during backward."""
        self.encoder.enable_gradient_checkpointing()
        self.decoder.enable_gradient_checkpointing()

    def forward(self, x: Tensor) -> Tensor:
        """(batch, n_features) -> reconstruction (batch, n_features)."""
        latent = self.encoder(x)  # (batch, latent_dim)
        out: Tensor = self.decoder(latent)
        return out

    def reconstruction_error(self, x: Tensor) -> Tensor:
        """Mean squared reconstruction error per row: (batch, n_features) -> (batch,)."""
        error: Tensor = (self(x) - x).pow(2).mean(dim=1)
        return error
