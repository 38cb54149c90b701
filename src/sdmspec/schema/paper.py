"""The part of a spec any paper has: the paper, the settings its configs must hold, and rules between them.

A spec is ``paper.yaml`` + ``config.yaml``; everything else is optional. A paper's pipeline (registered through
:mod:`sdmspec.plugins`) extends :class:`PaperSpec` with optional sections of its own; this repository's Mamba/SDM
pipeline does so in :mod:`mamba_sdm.spec`.

Pydantic sits at this boundary only (spec files in, frozen models out). Every record carries ``source``: the words
of the experimental description it comes from, or "assumption" for values we had to choose and must confirm.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from enum import Enum
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

from sdmspec.errors import MissingSectionError
from sdmspec.schema.setting import Setting
from sdmspec.schema.sourced import FROZEN as _FROZEN
from sdmspec.schema.sourced import Sourced
from sdmspec.schema.sparsity import SparsitySpec

# Optional sections are fields named `<section>_section` with the section's name as alias (``sparsity:`` in the
# spec is ``sparsity_section``), read through ``spec.section(name)`` or a property of the section's name.
SECTION_FIELD_SUFFIX = "_section"
# typing.Self is 3.11+; a bound TypeVar says the same on 3.10 without a typing_extensions dependency.
_SpecT = TypeVar("_SpecT", bound="PaperSpec")


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
    ``section_info`` the tree's sections in the order written, with any title and description.

    A paper's pipeline extends it with optional sections of its own (a subclass with ``<name>_section`` fields,
    registered through :mod:`sdmspec.plugins`); the core itself has one, ``sparsity``, which ``verify-sparsity``
    reads. A command checks the sections it needs with :meth:`require`, so a spec without them is refused in one
    line (exit 2).
    """

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    paper: PaperInfo
    settings: dict[str, Setting]
    rules: tuple[Rule, ...] = ()
    # The runs the paper reports (spec/runs.yaml): the entries a composed lint checks. Optional.
    runs: tuple[RunEntry, ...] = ()
    section_info: tuple[SectionInfo, ...] = ()
    # sha256 of the spec's canonical JSON, set by the loader: ties run records to the exact spec.
    digest: str = ""
    sparsity_section: SparsitySpec | None = Field(default=None, alias="sparsity")

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

    @classmethod
    def section_names(cls) -> tuple[str, ...]:
        """The optional sections this spec type knows (the core's ``sparsity`` and a pipeline's own)."""
        return tuple(
            name.removesuffix(SECTION_FIELD_SUFFIX) for name in cls.model_fields if name.endswith(SECTION_FIELD_SUFFIX)
        )

    @classmethod
    def section_problems(cls, sections: Mapping[str, Any]) -> Iterator[tuple[tuple[str | int, ...], str]]:
        """Cross-references between optional sections that do not resolve, read from the raw spec data (so that a
        spec with other problems has them reported in the same run): (path, message) pairs. A pipeline's spec type
        overrides it for its own sections; the core's have none."""
        return iter(())

    def section_summary(self) -> list[str]:
        """What ``sdmspec spec check`` says of the optional sections ("7 variants"); a pipeline's type adds its own."""
        return []

    def section_assumptions(self) -> int:
        """How many records of the optional sections are marked as assumptions (counted by ``spec check``)."""
        return 0

    def has(self, section: str) -> bool:
        """Whether the spec has the optional section ``section``."""
        return getattr(self, f"{section}{SECTION_FIELD_SUFFIX}", None) is not None

    def require(self, *sections: str) -> None:
        """Raise :class:`~sdmspec.errors.MissingSectionError` for the first of ``sections`` the spec lacks: a command
        checks what it needs before any work, so a spec for another paper is refused in one line (exit 2)."""
        for section in sections:
            self.section(section)

    def section(self, name: str) -> Any:
        """The optional section ``name``; :class:`~sdmspec.errors.MissingSectionError` when the spec lacks it."""
        value = getattr(self, f"{name}{SECTION_FIELD_SUFFIX}", None)
        if value is None:
            raise MissingSectionError(name)
        return value

    @property
    def sparsity(self) -> SparsitySpec:
        """The prunable set and iso-sparsity rule (spec section ``sparsity``)."""
        found: SparsitySpec = self.section("sparsity")
        return found

    def model_copy(self: _SpecT, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> _SpecT:
        """As :meth:`pydantic.BaseModel.model_copy`, also taking the sections' names (``update={"sparsity": x}``)."""
        aliases = {name: f"{name}{SECTION_FIELD_SUFFIX}" for name in self.section_names()}
        renamed = {aliases.get(key, key): value for key, value in (update or {}).items()}
        return super().model_copy(update=renamed, deep=deep)
