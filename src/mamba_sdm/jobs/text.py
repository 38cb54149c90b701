"""Tokenization: WikiText into fixed-length language-model blocks, GLUE examples into classifier inputs.

Both go through ``Dataset.map`` so a real run's tokenization is cached by ``datasets`` (a resumed job does not
tokenize WikiText-103 again) and the smoke run exercises the same path.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sdmspec.errors import JobError

if TYPE_CHECKING:
    import torch
    from datasets import Dataset
    from transformers import PreTrainedTokenizerBase


def lm_blocks(
    dataset: Dataset, tokenizer: PreTrainedTokenizerBase, text_field: str, seq_len: int, split: str = "train"
) -> Dataset:
    """Tokenize every line, concatenate, and cut into ``seq_len``-token blocks (the remainder is dropped), as
    Hugging Face's run_clm does; empty lines (WikiText's paragraph breaks) add nothing."""
    if text_field not in dataset.column_names:
        raise JobError(f"the pre-training data has no {text_field!r} field (fields: {', '.join(dataset.column_names)})")

    def tokenize(batch: dict[str, list[Any]]) -> dict[str, list[Any]]:
        return {"ids": tokenizer([t for t in batch[text_field] if t], add_special_tokens=False)["input_ids"]}

    def group(batch: dict[str, list[Any]]) -> dict[str, list[Any]]:
        flat = [token for ids in batch["ids"] for token in ids]
        usable = len(flat) - len(flat) % seq_len
        return {"input_ids": [flat[i : i + seq_len] for i in range(0, usable, seq_len)]}

    tokenized = dataset.map(tokenize, batched=True, remove_columns=dataset.column_names)
    # Large groups so little is lost to each group's remainder; the smoke set is one group.
    blocks = tokenized.map(group, batched=True, batch_size=10_000, remove_columns=["ids"])
    if len(blocks) == 0:
        raise JobError(f"the pre-training {split!r} split holds fewer than seq_len = {seq_len} tokens: not one block")
    return blocks


def classification_examples(
    dataset: Dataset,
    tokenizer: PreTrainedTokenizerBase,
    text_fields: Sequence[str],
    label_field: str,
    max_len: int,
) -> Dataset:
    """Token ids (a pair joined by the EOS token, truncated longest-first to ``max_len``) and labels.

    GPT-NeoX's tokenizer has no pair template, so the separator is explicit: without it a premise's last word and a
    hypothesis's first word could merge into one token.
    """
    missing = [f for f in (*text_fields, label_field) if f not in dataset.column_names]
    if missing:
        raise JobError(f"the task's data has no {', '.join(missing)} field (fields: {', '.join(dataset.column_names)})")
    separator = tokenizer.eos_token_id

    def encode(batch: dict[str, list[Any]]) -> dict[str, list[Any]]:
        parts = [tokenizer(batch[f], add_special_tokens=False)["input_ids"] for f in text_fields]
        if len(parts) == 1:
            # An empty text still gets one token for the classifier to read.
            return {"input_ids": [list(ids[:max_len]) or [separator] for ids in parts[0]], "label": batch[label_field]}
        joined = []
        for first, second in zip(parts[0], parts[1], strict=True):
            first, second = _truncate_pair(list(first), list(second), max_len - 1)
            joined.append([*first, separator, *second])
        return {"input_ids": joined, "label": batch[label_field]}

    encoded = dataset.map(encode, batched=True, remove_columns=dataset.column_names)
    # GLUE's test splits carry label -1; they are not for training or validation.
    return encoded.filter(lambda row: row["label"] >= 0)


def _truncate_pair(first: list[int], second: list[int], budget: int) -> tuple[list[int], list[int]]:
    while len(first) + len(second) > budget:
        if len(first) >= len(second):
            first.pop()
        else:
            second.pop()
    return first, second


def collate_lm(columns: dict[str, Any]) -> dict[str, torch.Tensor]:
    """Stack equal-length blocks (a column slice of the dataset: lists, or one tensor when the dataset is
    tensor-formatted) into ``input_ids``."""
    import torch

    return {"input_ids": torch.as_tensor(columns["input_ids"], dtype=torch.long)}


def collate_classification(columns: dict[str, Any], pad_id: int) -> dict[str, torch.Tensor]:
    """Right-pad to the longest example: Mamba is causal, so padding after the last real token changes nothing
    before it, and the classifier reads the last real token."""
    import torch

    sequences = columns["input_ids"]
    width = max(len(ids) for ids in sequences)
    ids = torch.full((len(sequences), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(sequences), width), dtype=torch.long)
    for index, row in enumerate(sequences):
        ids[index, : len(row)] = torch.as_tensor(row, dtype=torch.long)
        mask[index, : len(row)] = 1
    return {"input_ids": ids, "attention_mask": mask, "labels": torch.as_tensor(columns["label"], dtype=torch.long)}
