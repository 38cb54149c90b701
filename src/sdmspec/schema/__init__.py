"""Pydantic models of the reference spec (spec/) and the loader that finds and validates it."""

from sdmspec.schema.loading import find_spec_dir, load_spec
from sdmspec.schema.setting import Setting, SettingType, Tolerance
from sdmspec.schema.spec import (
    DataSpec,
    FinetuneTask,
    ModelSize,
    ProfilingSpec,
    Rule,
    SparsityRule,
    SparsitySpec,
    Spec,
    Variant,
)

__all__ = [
    "DataSpec",
    "FinetuneTask",
    "ModelSize",
    "ProfilingSpec",
    "Rule",
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
