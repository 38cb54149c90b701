"""The part of a spec any paper has: the paper, the settings its configs must hold, and rules between them.

A spec is ``paper.yaml`` + ``config.yaml``; everything else is optional. What this paper's pipeline adds (Mamba
sizes, variants, sparsity, data, profiling) lives in :mod:`sdmspec.schema.pipeline`, whose :class:`Spec` extends
:class:`PaperSpec` with those optional sections; :mod:`sdmspec.schema.spec` gathers both.

Pydantic sits at this boundary only (spec files in, frozen models out). Every record carries ``source``: the words
of the experimental description it comes from, or "assumption" for values we had to choose and must confirm.
"""

from __future__ import annotations

from enum import Enum

from pydantic import BaseModel, ConfigDict, Field, model_validator

from sdmspec.schema.setting import Setting

_FROZEN = ConfigDict(extra="forbid", frozen=True)


class Sourced(BaseModel):
    """Base for spec records: every one says where it comes from."""

    model_config = _FROZEN

    source: str = Field(min_length=1)

    @property
    def is_assumption(self) -> bool:
        return self.source.strip().lower().startswith("assumption")


class PaperInfo(Sourced):
    title: str
    description: str = ""


class RuleKind(str, Enum):
    DIVIDES = "divides"


class Rule(Sourced):
    """A cross-field rule between settings, e.g. the micro-batch must divide the batch size."""

    kind: RuleKind
    divisor: str
    dividend: str


class RunEntry(Sourced):
    """A run the paper reports, as its program is launched: a Hydra config name and its overrides, in command-line
    syntax (``experiment=example``, ``trainer.max_epochs=20``). ``sdmspec lint --loader hydra`` composes and checks
    each one; ``name`` labels its findings (default: the config name and overrides)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    config_name: str = Field(min_length=1, alias="config-name")
    overrides: tuple[str, ...] = ()
    name: str | None = None


class SectionInfo(BaseModel):
    """A section of the ``config`` tree as the docs present it: ``title:`` and ``description:`` written in the
    section itself (string values beside its settings). A titled section heads its own part of the setup document."""

    model_config = _FROZEN

    path: str
    title: str = ""
    description: str = ""
    # `nullable: true` written in the section: a config may write it as null (`logger: null`).
    nullable: bool = False


class PaperSpec(BaseModel):
    """What any paper's spec holds. ``settings`` is the flattened ``config`` tree, keyed by dotted path;
    ``section_info`` the tree's sections in the order written, with any title and description."""

    model_config = _FROZEN

    paper: PaperInfo
    settings: dict[str, Setting]
    rules: tuple[Rule, ...] = ()
    # The runs the paper reports (spec/runs.yaml): the entries a composed lint checks. Optional.
    runs: tuple[RunEntry, ...] = ()
    section_info: tuple[SectionInfo, ...] = ()
    # sha256 of the spec's canonical JSON, set by the loader: ties run records to the exact spec.
    digest: str = ""

    @model_validator(mode="after")
    def _rules_name_settings(self) -> PaperSpec:
        for rule in self.rules:
            for key in (rule.divisor, rule.dividend):
                if key not in self.settings:
                    raise ValueError(f"rule refers to unknown setting {key!r}")
        return self

    @property
    def nullable_sections(self) -> frozenset[str]:
        """The sections a config may write as null (``nullable: true`` in the section)."""
        return frozenset(info.path for info in self.section_info if info.nullable)

    @property
    def sections(self) -> frozenset[str]:
        """Every mapping path the config tree defines ("training", "training.pretrain", ...): lint knows their keys."""
        found: set[str] = set()
        for key in self.settings:
            parts = key.split(".")
            found.update(".".join(parts[:i]) for i in range(1, len(parts)))
        return frozenset(found)
