"""Loading mamba_ssm-format state dicts (``backbone.embedding.``) into Hugging Face's MambaForCausalLM."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from mamba_sdm.models.names import load_into, to_hf_names
from sdmspec.errors import CheckpointError

if TYPE_CHECKING:
    import torch
    from transformers import MambaForCausalLM


def _mamba_ssm_state(model: MambaForCausalLM) -> dict[str, torch.Tensor]:
    """``model``'s weights as mamba_ssm's MambaLMHeadModel names them (its state_dict repeats the tied head)."""
    state = {key: tensor.clone() for key, tensor in model.state_dict().items()}
    state["backbone.embedding.weight"] = state.pop("backbone.embeddings.weight")
    return state


def _assert_same_weights(left: MambaForCausalLM, right: MambaForCausalLM) -> None:
    import torch

    right_state = right.state_dict()
    for key, tensor in left.state_dict().items():
        assert torch.equal(tensor, right_state[key]), key


def test_to_hf_names_renames_the_embedding_and_drops_wrappers() -> None:
    import torch

    state = {"module.backbone.embedding.weight": torch.zeros(2), "backbone.layers.0.mixer.D": torch.ones(1)}

    assert set(to_hf_names(state)) == {"backbone.embeddings.weight", "backbone.layers.0.mixer.D"}


def test_both_layouts_in_one_state_dict_are_refused() -> None:
    import torch

    with pytest.raises(CheckpointError, match="both map"):
        to_hf_names({"backbone.embedding.weight": torch.zeros(1), "backbone.embeddings.weight": torch.zeros(1)})


@pytest.mark.parametrize("with_head", [True, False])
def test_mamba_ssm_state_loads_with_or_without_the_tied_head(
    tiny: MambaForCausalLM, tiny_dense: MambaForCausalLM, with_head: bool
) -> None:
    state = _mamba_ssm_state(tiny)
    if not with_head:
        del state["lm_head.weight"]

    load_into(tiny_dense, state)

    _assert_same_weights(tiny, tiny_dense)
    assert tiny_dense.lm_head.weight is tiny_dense.backbone.embeddings.weight


def test_a_head_that_differs_from_the_tied_embedding_is_refused(
    tiny: MambaForCausalLM, tiny_dense: MambaForCausalLM
) -> None:
    state = _mamba_ssm_state(tiny)
    state["lm_head.weight"] = state["lm_head.weight"] + 1

    with pytest.raises(CheckpointError, match=r"lm_head\.weight differs"):
        load_into(tiny_dense, state)


def test_missing_and_unexpected_keys_are_named(tiny: MambaForCausalLM, tiny_dense: MambaForCausalLM) -> None:
    import torch

    state = _mamba_ssm_state(tiny)
    del state["backbone.norm_f.weight"]
    state["backbone.layers.0.mixer.extra"] = torch.zeros(1)

    with pytest.raises(CheckpointError) as caught:
        load_into(tiny_dense, state)

    assert "missing backbone.norm_f.weight" in str(caught.value)
    assert "unexpected backbone.layers.0.mixer.extra" in str(caught.value)
    load_into(tiny_dense, state, strict=False)
    assert torch.equal(tiny_dense.backbone.layers[1].mixer.A_log, tiny.backbone.layers[1].mixer.A_log)


def test_a_shape_mismatch_is_a_checkpoint_error(spec: object, tiny: MambaForCausalLM) -> None:
    from mamba_sdm.models.build import build_model

    wider = build_model(spec, "130m", smoke=True, vocab_size=600)  # type: ignore[arg-type]

    with pytest.raises(CheckpointError, match="does not fit"):
        load_into(wider, _mamba_ssm_state(tiny))
