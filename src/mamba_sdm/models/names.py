"""Load a mamba_ssm-format state dict (``backbone.embedding.weight``, ...) into Hugging Face's MambaForCausalLM.

The two layouts differ in the embedding's name only (mamba_ssm ``backbone.embedding``, Hugging Face
``backbone.embeddings``) and in whether the tied LM head is written out: mamba_ssm's ``state_dict()`` repeats it as
``lm_head.weight``; some converted checkpoints leave it out.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from sdmspec.checkpoint.sparsity import canonical_name
from sdmspec.errors import CheckpointError

if TYPE_CHECKING:
    import torch

_LM_HEAD = "lm_head.weight"
_EMBEDDINGS = "backbone.embeddings.weight"
_SHOWN = 5  # names listed in an error message before "and N more"


def to_hf_names(state: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """``state`` with every key in Hugging Face's layout (also strips DDP's ``module.`` prefix).

    Two keys that map to the same name (a checkpoint holding both layouts) raise CheckpointError.
    """
    renamed: dict[str, torch.Tensor] = {}
    origin: dict[str, str] = {}
    for key, tensor in state.items():
        name = canonical_name(key)
        if name in renamed:
            raise CheckpointError(f"state dict keys {origin[name]!r} and {key!r} both map to {name!r}")
        renamed[name] = tensor
        origin[name] = key
    return renamed


def load_into(model: torch.nn.Module, state: Mapping[str, torch.Tensor], *, strict: bool = True) -> None:
    """Copy ``state`` (either layout) into ``model``; with ``strict``, missing or unexpected keys raise
    CheckpointError naming them. The tied LM head may be present (it must then equal the embedding) or absent."""
    import torch

    hf_state = to_hf_names(state)
    tied = _is_tied(model)
    if tied and _LM_HEAD in hf_state:
        head = hf_state.pop(_LM_HEAD)
        embeddings = hf_state.get(_EMBEDDINGS)
        if embeddings is not None and not torch.equal(head, embeddings):
            raise CheckpointError(
                f"{_LM_HEAD} differs from {_EMBEDDINGS}, but the model ties them: this checkpoint is not a tied Mamba"
            )
    try:
        result = model.load_state_dict(hf_state, strict=False)
    except RuntimeError as err:  # shape mismatches raise even with strict=False
        raise CheckpointError(f"state dict does not fit the model: {' '.join(str(err).split())}") from err
    missing = [key for key in result.missing_keys if not (tied and key == _LM_HEAD)]
    unexpected = list(result.unexpected_keys)
    if strict and (missing or unexpected):
        problems = []
        if missing:
            problems.append(f"missing {_listing(missing)}")
        if unexpected:
            problems.append(f"unexpected {_listing(unexpected)}")
        raise CheckpointError(f"state dict does not fit the model: {'; '.join(problems)}")


def _is_tied(model: torch.nn.Module) -> bool:
    head = getattr(model, "lm_head", None)
    get_embeddings = getattr(model, "get_input_embeddings", None)
    if head is None or get_embeddings is None:
        return False
    return bool(head.weight is get_embeddings().weight)


def _listing(keys: list[str]) -> str:
    shown = ", ".join(keys[:_SHOWN])
    more = len(keys) - _SHOWN
    return f"{shown} and {more} more" if more > 0 else shown
