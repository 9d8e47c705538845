"""FT-Transformer for numeric tabular features, built on ``rtdl_revisiting_models``.

    model = FTTransformerModel(n_features=30, n_outputs=2, n_blocks=3, d_block=192,
                               attention_n_heads=8, attention_dropout=0.2,
                               ffn_d_hidden_multiplier=4 / 3, ffn_dropout=0.1,
                               residual_dropout=0.0)
    logits = model(x)  # (batch, n_features) -> (batch, n_outputs)

Every feature is a continuous token (trainwell's preprocessing turns categories into numbers
first). ``enable_gradient_checkpointing()`` recomputes the transformer backbone's activations
in the backward pass (one checkpointed segment: rtdl's backbone runs its blocks in one call).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import torch
from rtdl_revisiting_models import FTTransformer
from torch import Tensor, nn
from torch.utils.checkpoint import checkpoint


class FTTransformerModel(nn.Module):
    """rtdl's FT-Transformer with continuous features only, and a visible forward.

    Args:
        n_features: number of (continuous) input features.
        n_outputs: output width.
        n_blocks, d_block, attention_n_heads, attention_dropout, ffn_d_hidden_multiplier,
        ffn_dropout, residual_dropout: ``rtdl_revisiting_models.FTTransformer``'s backbone
            arguments (``d_block`` must be a multiple of ``attention_n_heads``).
    """

    def __init__(
        self,
        n_features: int,
        n_outputs: int,
        *,
        n_blocks: int,
        d_block: int,
        attention_n_heads: int,
        attention_dropout: float,
        ffn_d_hidden_multiplier: float,
        ffn_dropout: float,
        residual_dropout: float,
    ) -> None:
        super().__init__()
        self.net = FTTransformer(
            n_cont_features=n_features,
            cat_cardinalities=[],
            d_out=n_outputs,
            n_blocks=n_blocks,
            d_block=d_block,
            attention_n_heads=attention_n_heads,
            attention_dropout=attention_dropout,
            ffn_d_hidden=None,
            ffn_d_hidden_multiplier=ffn_d_hidden_multiplier,
            ffn_dropout=ffn_dropout,
            residual_dropout=residual_dropout,
        )
        self.gradient_checkpointing = False

    def enable_gradient_checkpointing(self) -> None:
        """Trade compute for memory: recompute the backbone's activations during backward."""
        self.gradient_checkpointing = True

    def forward(self, x: Tensor) -> Tensor:
        """(batch, n_features) -> (batch, n_outputs); the same as ``FTTransformer(x, None)``."""
        cls_token = self.net.cls_embedding(x.shape[:-1])  # (B, 1, d_block)
        features = self.net.cont_embeddings(x)  # (B, n_features, d_block)
        tokens = torch.cat([cls_token, features], dim=1)  # (B, 1 + n_features, d_block)
        if self.gradient_checkpointing and self.training:
            out: Tensor = checkpoint(self.net.backbone, tokens, use_reentrant=False)
            return out
        out = self.net.backbone(tokens)
        return out


@contextlib.contextmanager
def dynamic_batch_tracing() -> Iterator[None]:
    """While exporting: rtdl's attention reads the batch size as ``len(q)``, a Python int that
    tracing bakes in (``torch.export`` specialises the batch axis to the example's size, and
    the exported graph then fails at any other batch). Inside this context ``len`` of a tensor
    in rtdl's module is ``tensor.shape[0]``, which stays symbolic; other ``len`` calls are
    unchanged."""
    import builtins

    import rtdl_revisiting_models

    def tensor_len(obj: Any) -> Any:
        return obj.shape[0] if isinstance(obj, Tensor) else builtins.len(obj)

    rtdl_revisiting_models.len = tensor_len
    try:
        yield
    finally:
        del rtdl_revisiting_models.len
