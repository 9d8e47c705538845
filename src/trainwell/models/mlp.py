"""A tabular MLP: blocks of Linear -> ReLU -> Dropout, then a linear head.

    model = TabularMLP(n_features=30, n_outputs=2, hidden_dims=(256, 256), dropout=0.1)
    logits = model(x)  # (batch, n_features) -> (batch, n_outputs)

The "MLP" baseline of Gorishniy et al., "Revisiting Deep Learning Models for Tabular Data"
(2021). ``enable_gradient_checkpointing()`` recomputes each block's activations in the
backward pass instead of storing them (``torch.utils.checkpoint``).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from torch import Tensor, nn
from torch.utils.checkpoint import checkpoint


class TabularMLP(nn.Module):
    """Feed-forward network for rows of numeric features.

    Args:
        n_features: input width.
        n_outputs: output width (classes, or 1 for regression).
        hidden_dims: width of each hidden block; empty means a linear model.
        dropout: dropout probability after each block's activation.
    """

    def __init__(
        self, n_features: int, n_outputs: int, hidden_dims: Sequence[int], dropout: float
    ) -> None:
        super().__init__()
        widths = [n_features, *hidden_dims]
        self.blocks = nn.ModuleList(
            nn.Sequential(nn.Linear(d_in, d_out), nn.ReLU(), nn.Dropout(dropout))
            for d_in, d_out in itertools.pairwise(widths)
        )
        self.head = nn.Linear(widths[-1], n_outputs)
        self.gradient_checkpointing = False

    def enable_gradient_checkpointing(self) -> None:
        """Trade compute for memory: recompute block activations during backward."""
        self.gradient_checkpointing = True

    def forward(self, x: Tensor) -> Tensor:
        """(batch, n_features) -> (batch, n_outputs)."""
        for block in self.blocks:
            if self.gradient_checkpointing and self.training:
                # preserve_rng_state (the default) replays the same dropout mask on recompute.
                x = checkpoint(block, x, use_reentrant=False)
            else:
                x = block(x)
        out: Tensor = self.head(x)
        return out
