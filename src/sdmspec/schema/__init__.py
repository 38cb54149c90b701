"""Pydantic models of the reference spec (spec/) and the loader that finds and validates it.

:mod:`sdmspec.schema.paper` is what any paper's spec holds (paper, settings, rules, runs and the optional
``sparsity`` section); an installed paper pipeline adds its own optional sections (:mod:`sdmspec.plugins`).
"""

from sdmspec.schema.loading import find_spec_dir, load_spec, spec_model
from sdmspec.schema.paper import PaperInfo, PaperSpec, Rule, RuleKind, RunEntry, SectionInfo
from sdmspec.schema.setting import Setting, SettingType, Tolerance
from sdmspec.schema.sourced import Sourced
from sdmspec.schema.sparsity import SparsityRule, SparsitySpec

__all__ = [
    "PaperInfo",
    "PaperSpec",
    "Rule",
    "RuleKind",
    "RunEntry",
    "SectionInfo",
    "Setting",
    "SettingType",
    "Sourced",
    "SparsityRule",
    "SparsitySpec",
    "Tolerance",
    "find_spec_dir",
    "load_spec",
    "spec_model",
]
