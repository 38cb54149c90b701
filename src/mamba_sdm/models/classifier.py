"""A fine-tuned model as a transformers model: ``MambaForSequenceClassification``.

transformers (v5) has no Mamba sequence-classification class, so sdmspec defines one the way transformers defines its
own: a ``MambaPreTrainedModel`` with a ``MambaModel`` under ``backbone`` and a linear head ``score`` on the hidden
state of each sequence's last non-padding token. Its config is a ``MambaConfig`` carrying the head's fields
(``num_labels``, ``id2label``, ``label2id``, ``finetuning_task``), so ``save_pretrained`` writes a folder that
``MambaForSequenceClassification.from_pretrained(folder)`` loads back, and, once this module is imported,
``AutoModelForSequenceClassification.from_pretrained(folder)`` too.

The fine-tuning job trains :class:`mamba_sdm.jobs.training_classifier.MambaClassifier` (the same parameters under the
same names, built around the language model's backbone) and exports through this class. Both pool with
:func:`last_token_pool`, so the exported model computes what the job evaluated, bit for bit.

This module imports torch and transformers at import time: import it lazily (``mamba_sdm.models.load_model`` does).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from transformers import AutoModelForSequenceClassification, MambaConfig, MambaModel, MambaPreTrainedModel
from transformers.modeling_outputs import SequenceClassifierOutput

ARCHITECTURE = "MambaForSequenceClassification"


def last_token_pool(hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """Each sequence's hidden state at its last non-padding position. Mamba is causal: that token has read the whole
    input, and right padding after it changes nothing before it."""
    last = attention_mask.sum(dim=1).clamp(min=1) - 1
    return hidden[torch.arange(hidden.shape[0], device=hidden.device), last]


class MambaForSequenceClassification(MambaPreTrainedModel):  # type: ignore[no-untyped-call]
    """``MambaModel`` -> last non-padding token's hidden state -> ``Linear(hidden_size, num_labels)``."""

    def __init__(self, config: MambaConfig) -> None:
        super().__init__(config)
        self.num_labels = config.num_labels
        self.backbone = MambaModel(config)
        self.score = nn.Linear(config.hidden_size, config.num_labels or 2)
        self.post_init()  # type: ignore[no-untyped-call]

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        **kwargs: Any,
    ) -> SequenceClassifierOutput:
        """Logits of shape (batch, num_labels); the cross-entropy loss too when ``labels`` are given."""
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        hidden = self.backbone(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        logits = self.score(last_token_pool(hidden, attention_mask))
        loss = None if labels is None else nn.functional.cross_entropy(logits, labels)
        return SequenceClassifierOutput(loss=loss, logits=logits)


def classification_config(base: MambaConfig, *, task: str, num_labels: int) -> MambaConfig:
    """``base`` (the backbone's config) with the classification head's fields; labels are GLUE's class indices."""
    config = MambaConfig.from_dict(base.to_dict())
    config.num_labels = num_labels  # also sets id2label/label2id to LABEL_0... (the data carry indices, not names)
    config.finetuning_task = task
    config.architectures = [ARCHITECTURE]
    config.use_cache = False
    return config


# transformers' Auto classes find the class from config.json once this module is imported.
AutoModelForSequenceClassification.register(MambaConfig, MambaForSequenceClassification, exist_ok=True)
