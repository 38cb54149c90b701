"""The whole spec: what any paper has (:mod:`sdmspec.schema.paper`) and what this paper's pipeline adds
(:mod:`sdmspec.schema.pipeline`), gathered under one name for the modules that use both."""

from sdmspec.schema.paper import PaperInfo, PaperSpec, Rule, RuleKind, SectionInfo, Sourced
from sdmspec.schema.pipeline import (
    DataSpec,
    FinetuneTask,
    Method,
    ModelSize,
    ProfilingSpec,
    SparsityRule,
    SparsitySpec,
    Spec,
    Variant,
)

__all__ = [
    "DataSpec",
    "FinetuneTask",
    "Method",
    "ModelSize",
    "PaperInfo",
    "PaperSpec",
    "ProfilingSpec",
    "Rule",
    "RuleKind",
    "SectionInfo",
    "Sourced",
    "SparsityRule",
    "SparsitySpec",
    "Spec",
    "Variant",
]
