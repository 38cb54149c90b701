"""transformers' Mamba, the spec's variants, masking strategies, and loading back what the jobs wrote."""

from mamba_sdm.models.loading import load_model

__all__ = ["load_model"]
