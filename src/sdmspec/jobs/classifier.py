"""Sequence classification on a Mamba backbone: a linear head on the hidden state of the last non-padding token.

transformers (v5) has no Mamba sequence-classification class, so this is a small module around its ``MambaModel``.
The backbone keeps its canonical name ``backbone`` so mask and sparsity names (``backbone.layers.N.mixer...``) are the
same as in the language model it comes from. Mamba is causal: the last real token has read the whole input, and
right padding after it changes nothing before it.
"""

from __future__ import annotations

import torch
from torch import nn


class MambaClassifier(nn.Module):
    """``MambaModel`` -> hidden state at each sequence's last non-padding position -> ``Linear(d_model, labels)``."""

    def __init__(self, backbone: nn.Module, hidden_size: int, num_labels: int) -> None:
        super().__init__()
        self.backbone = backbone
        self.score = nn.Linear(hidden_size, num_labels)
        nn.init.normal_(self.score.weight, std=0.02)
        nn.init.zeros_(self.score.bias)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """Logits of shape (batch, num_labels)."""
        hidden = self.backbone(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        last = attention_mask.sum(dim=1).clamp(min=1) - 1
        pooled = hidden[torch.arange(hidden.shape[0], device=hidden.device), last]
        logits: torch.Tensor = self.score(pooled)
        return logits
