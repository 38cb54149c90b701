"""Build the spec's Mamba sizes with Hugging Face ``transformers`` (MambaConfig, MambaForCausalLM).

transformers' Mamba runs in plain PyTorch on CPU and switches to mamba-ssm's and causal-conv1d's CUDA kernels by
itself when they are installed on a GPU machine. ``device="meta"`` builds a full-size model with no memory and no
download, which is how parameter counts are computed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from mamba_sdm.spec import ModelSize, Spec

if TYPE_CHECKING:
    from transformers import MambaConfig, MambaForCausalLM

# The smoke scale-down: every code path of the full model (several layers, every projection) at toy size.
SMOKE_DIMENSIONS = {"d_model": 64, "n_layer": 2, "d_state": 8}
# Smoke depth keeps the sizes apart (24 layers -> 2, 48 -> 4), so the 130m and 370m smoke models differ as the real
# ones do in depth; width stays SMOKE_DIMENSIONS'.
SMOKE_LAYER_DIVISOR = 12
SMOKE_VOCAB_SIZE = 512


@dataclass(frozen=True)
class Dimensions:
    """The shape of a Mamba model; full size from the spec, or the smoke overlay."""

    d_model: int
    n_layer: int
    vocab_size: int
    d_state: int
    expand: int
    d_conv: int

    @property
    def dt_rank(self) -> int:
        # MambaConfig's default time_step_rank: ceil(d_model / 16).
        return -(-self.d_model // 16)


def dimensions(size: ModelSize, *, smoke: bool = False, vocab_size: int | None = None) -> Dimensions:
    """The dimensions of ``size``; ``smoke`` shrinks them; ``vocab_size`` overrides the tokenizer's size."""
    dims = Dimensions(
        d_model=size.d_model,
        n_layer=size.n_layer,
        vocab_size=size.vocab_size,
        d_state=size.d_state,
        expand=size.expand,
        d_conv=size.d_conv,
    )
    if smoke:
        n_layer = max(SMOKE_DIMENSIONS["n_layer"], size.n_layer // SMOKE_LAYER_DIVISOR)
        dims = Dimensions(**{**dims.__dict__, **SMOKE_DIMENSIONS, "n_layer": n_layer, "vocab_size": SMOKE_VOCAB_SIZE})
    if vocab_size is not None:
        dims = Dimensions(**{**dims.__dict__, "vocab_size": vocab_size})
    return dims


def mamba_config(dims: Dimensions) -> MambaConfig:
    """A transformers MambaConfig with the spec's dimensions and Mamba's released-checkpoint settings."""
    from transformers import MambaConfig

    return MambaConfig(
        vocab_size=dims.vocab_size,
        hidden_size=dims.d_model,
        num_hidden_layers=dims.n_layer,
        state_size=dims.d_state,
        expand=dims.expand,
        conv_kernel=dims.d_conv,
        time_step_rank=dims.dt_rank,
        use_bias=False,
        use_conv_bias=True,
        tie_word_embeddings=True,
        use_cache=False,
    )


def build_model(
    spec: Spec,
    size: str,
    *,
    smoke: bool = False,
    vocab_size: int | None = None,
    device: str = "cpu",
    seed: int | None = None,
) -> MambaForCausalLM:
    """A freshly initialised MambaForCausalLM of the spec's ``size`` ("130m", "370m") on ``device``."""
    import torch
    from transformers import MambaForCausalLM

    if size not in spec.models:
        from sdmspec.errors import SdmspecError

        raise SdmspecError(f"unknown model size {size!r}; the spec has {', '.join(sorted(spec.models))}")
    if seed is not None:
        torch.manual_seed(seed)
    config = mamba_config(dimensions(spec.models[size], smoke=smoke, vocab_size=vocab_size))
    with torch.device(device):
        return MambaForCausalLM(config)


def count_parameters(model: torch.nn.Module) -> int:
    """Unique parameters (the tied LM head counts once)."""
    return sum(p.numel() for p in model.parameters())


if TYPE_CHECKING:
    import torch
