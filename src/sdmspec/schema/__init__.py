"""Pydantic models of the reference spec (spec/) and the loader that finds and validates it.

:mod:`sdmspec.schema.spec` is what any paper's spec holds (paper, settings, rules); :mod:`sdmspec.schema.pipeline`
adds this paper's optional sections (models, variants, sparsity, data, profiling).
"""

from sdmspec.schema.loading import find_spec_dir, load_spec
from sdmspec.schema.paper import PaperSpec, Rule, SectionInfo
from sdmspec.schema.pipeline import (
    PIPELINE_SECTIONS,
    DataSpec,
    FinetuneTask,
    ModelSize,
    ProfilingSpec,
    SparsityRule,
    SparsitySpec,
    Spec,
    Variant,
)
from sdmspec.schema.setting import Setting, SettingType, Tolerance

__all__ = [
    "PIPELINE_SECTIONS",
    "DataSpec",
    "FinetuneTask",
    "ModelSize",
    "PaperSpec",
    "ProfilingSpec",
    "Rule",
    "SectionInfo",
    "Setting",
    "SettingType",
    "SparsityRule",
    "SparsitySpec",
    "Spec",
    "Tolerance",
    "Variant",
    "find_spec_dir",
    "load_spec",
]
