"""What composing an entry gives: the composed config, the files merged in order, the value overrides applied."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sdmspec.compose.entry import Entry

if TYPE_CHECKING:
    from omegaconf import DictConfig


@dataclass(frozen=True)
class MergedFile:
    """A config file the defaults list merged: ``path`` on disk (None for one from a package), ``package`` the dotted
    key it is merged at ("" for the root, ``_global_``)."""

    config_path: str
    package: str
    path: Path | None


@dataclass(frozen=True)
class ValueOverride:
    """A command-line override that sets, adds or deletes a value (not a group choice): Hydra's parsed form."""

    index: int
    text: str
    key: str
    delete: bool


@dataclass(frozen=True)
class Composition:
    """An entry's composed config (interpolations not resolved), the files merged in order, the value overrides
    applied after them, and the ``hydra/...`` groups composed with a stand-in (``hydra/job_logging=none``)."""

    entry: Entry
    config: DictConfig
    files: tuple[MergedFile, ...]
    overrides: tuple[ValueOverride, ...]
    stand_ins: tuple[str, ...] = ()
