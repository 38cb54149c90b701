"""The spec's model variants by name: a table of what each one is, and a builder for its architecture.

Every variant of one size shares the same Mamba architecture; what differs is how its weights come to be (dense
pre-training, SDM masking, or pruning the dense model to match SDM's zeros). So :func:`build_variant` returns the
freshly initialised architecture, and the jobs add the rest: the pretrain job attaches a masking strategy
(:mod:`mamba_sdm.models.masking`) to ``sdm`` variants; the challenge job prunes the dense model
(:mod:`mamba_sdm.models.challenge`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from mamba_sdm.models.build import build_model, count_parameters, dimensions
from mamba_sdm.spec import Spec, Variant
from sdmspec.errors import SdmspecError

if TYPE_CHECKING:
    from transformers import MambaForCausalLM


@dataclass(frozen=True)
class VariantInfo:
    """One variant as `sdmspec variants` shows it; ``params`` is counted on a full-size model on the meta device."""

    name: str
    size: str
    method: str
    target_sparsity: float
    params: int
    d_model: int
    n_layer: int
    init_from: str | None
    match_sparsity_of: str | None
    assumption: bool
    source: str


def find_variant(spec: Spec, name: str) -> Variant:
    """The spec's variant called ``name``; an unknown name raises SdmspecError listing the known ones."""
    for variant in spec.variants:
        if variant.name == name:
            return variant
    known = ", ".join(variant.name for variant in spec.variants)
    raise SdmspecError(f"unknown variant {name!r}; known variants: {known}")


def full_size_parameters(spec: Spec, size: str) -> int:
    """The parameter count of a full-size ``size`` model, built on the meta device (no memory, no download)."""
    return count_parameters(build_model(spec, size, device="meta"))


def variant_table(spec: Spec) -> list[VariantInfo]:
    """Every variant of the spec, in spec order, with its full-size parameter count."""
    params_by_size = {size: full_size_parameters(spec, size) for size in {v.size for v in spec.variants}}
    table = []
    for variant in spec.variants:
        dims = dimensions(spec.models[variant.size])
        table.append(
            VariantInfo(
                name=variant.name,
                size=variant.size,
                method=variant.method.value,
                target_sparsity=variant.target_sparsity,
                params=params_by_size[variant.size],
                d_model=dims.d_model,
                n_layer=dims.n_layer,
                init_from=variant.init_from,
                match_sparsity_of=variant.match_sparsity_of,
                assumption=variant.is_assumption,
                source=variant.source,
            )
        )
    return table


def build_variant(
    spec: Spec,
    name: str,
    *,
    smoke: bool = False,
    vocab_size: int | None = None,
    device: str = "cpu",
    seed: int | None = None,
) -> MambaForCausalLM:
    """The architecture of variant ``name``, freshly initialised (``smoke``: the tiny overlay; ``device="meta"``:
    no memory). Masks and pruning are the jobs' part: see the module docstring."""
    variant = find_variant(spec, name)
    return build_model(spec, variant.size, smoke=smoke, vocab_size=vocab_size, device=device, seed=seed)
