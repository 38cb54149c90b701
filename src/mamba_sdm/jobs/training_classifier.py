"""Sequence classification on a Mamba backbone: a linear head on the hidden state of the last non-padding token.

The job trains :class:`MambaClassifier`, built around the language model's own ``MambaModel`` (so its masks and the
sparsity count see the same ``backbone.layers.N.mixer...`` names as the language model it comes from), and exports it
with :func:`save_classifier` as transformers' kind of model: :class:`mamba_sdm.models.classifier.
MambaForSequenceClassification`, whose folder loads back with ``from_pretrained`` (or ``mamba_sdm.models.load_model``).
Both have the same parameters under the same names and pool the same way.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, cast

import torch
from torch import nn

from mamba_sdm.models.classifier import last_token_pool

if TYPE_CHECKING:
    from transformers import MambaConfig


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
        logits: torch.Tensor = self.score(last_token_pool(hidden, attention_mask))
        return logits


def save_classifier(model: nn.Module, folder: Path, *, task: str) -> None:
    """Write ``model`` (masks already baked into its weights) as a transformers model folder: config.json (the
    backbone's MambaConfig with num_labels, id2label, label2id and finetuning_task) and model.safetensors."""
    from mamba_sdm.models.classifier import MambaForSequenceClassification, classification_config

    backbone_config = cast("MambaConfig", model.get_submodule("backbone").config)
    head = cast(nn.Linear, model.score)
    config = classification_config(backbone_config, task=task, num_labels=head.out_features)
    with torch.device("meta"):  # no second copy of the weights: the exported model takes the trained tensors
        exported = MambaForSequenceClassification(config)
    exported.load_state_dict(model.state_dict(), strict=True, assign=True)
    exported.save_pretrained(str(folder))
