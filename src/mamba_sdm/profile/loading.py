"""The model profiled for each variant: a checkpoint when one is given, else the spec's architecture, and the
fraction of non-zeros of each prunable weight that the effective FLOPs need.

A checkpoint is a Hugging Face model folder (config.json + weights, as ``save_pretrained`` writes it: the
architecture comes from config.json) or a checkpoint file (read as the variant's size). Weights are read by
:func:`sdmspec.checkpoint.load.load_state_dict` (safe loading, pruning masks applied, canonical names) and zeros
are counted with the project's one sparsity count, :func:`sdmspec.checkpoint.sparsity.count_sparsity`, exactly as
``verify-sparsity`` counts them. Without a checkpoint the variant's target sparsity stands in for every prunable
weight.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

from mamba_sdm.models.build import build_model
from mamba_sdm.profile.analytic import MambaShape, densities_from_counts
from mamba_sdm.spec import Spec, Variant
from sdmspec.checkpoint.sparsity import SparsityCount, count_sparsity
from sdmspec.errors import CheckpointError


@dataclass(frozen=True)
class LoadedVariant:
    """A variant ready to profile. ``density(name)`` is a weight's fraction of non-zeros; ``sparsity`` is the
    fraction of zeros over the spec's prunable set, from the checkpoint or the variant's target
    (``sparsity_source``)."""

    variant: str
    model: Any  # transformers.MambaForCausalLM, on the profiling device, in eval mode
    config: Any  # its MambaConfig
    shape: MambaShape
    checkpoint: str | None
    sparsity_source: str  # "checkpoint" or "target"
    sparsity: float
    density: Callable[[str], Fraction]


def _target_density(spec: Spec, target: float) -> Callable[[str], Fraction]:
    kept = 1 - Fraction(str(target))  # "0.5" -> 1/2 exactly

    def density(name: str) -> Fraction:
        return kept if spec.sparsity.is_prunable(name) else Fraction(1)

    return density


def _from_counts(count: SparsityCount) -> Callable[[str], Fraction]:
    return densities_from_counts({layer.name: (layer.numel, layer.zeros) for layer in count.layers})


def _folder_config(path: Path) -> Any:
    """The MambaConfig of a Hugging Face model folder (its config.json), or None for anything else."""
    from transformers import MambaConfig

    config_file = path / "config.json"
    if not (path.is_dir() and config_file.is_file()):
        return None
    try:
        config = MambaConfig.from_json_file(str(config_file))
    except (OSError, ValueError) as err:
        raise CheckpointError(f"{config_file}: not a readable model config: {' '.join(str(err).split())}") from err
    model_type = getattr(config, "model_type", "mamba")
    if model_type != "mamba":
        raise CheckpointError(f"{config_file}: describes a {model_type!r} model, not Mamba")
    return config


def _load_checkpoint(spec: Spec, variant: Variant, path: Path, smoke: bool) -> tuple[Any, SparsityCount]:
    """The model with the checkpoint's weights, and the checkpoint's zero count (masks applied, as verify-sparsity
    counts it). A folder's config.json gives the architecture; a bare file is read as the variant's size."""
    from transformers import MambaForCausalLM

    from mamba_sdm.models.names import load_into
    from sdmspec.checkpoint.load import load_state_dict

    config = _folder_config(path)
    model = build_model(spec, variant.size, smoke=smoke) if config is None else MambaForCausalLM(config)
    state = load_state_dict(path)
    count = count_sparsity(state.items(), spec.sparsity)
    load_into(model, state)
    return model, count


def load_variant(spec: Spec, variant: Variant, checkpoint: Path | None, *, smoke: bool, device: str) -> LoadedVariant:
    """The model to profile for ``variant`` on ``device`` (float32, eval mode)."""
    model: Any
    if checkpoint is None:
        model = build_model(spec, variant.size, smoke=smoke, seed=0)
        count = None
    elif not checkpoint.exists():
        raise CheckpointError(f"checkpoint for {variant.name} not found: {checkpoint}")
    else:
        model, count = _load_checkpoint(spec, variant, checkpoint, smoke)
    model = model.float().to(device).eval()
    return LoadedVariant(
        variant=variant.name,
        model=model,
        config=model.config,
        shape=MambaShape.from_config(model.config),
        checkpoint=None if checkpoint is None else str(checkpoint),
        sparsity_source="target" if count is None else "checkpoint",
        sparsity=variant.target_sparsity if count is None else count.sparsity,
        density=_target_density(spec, variant.target_sparsity) if count is None else _from_counts(count),
    )
