"""Compose an entry the way ``python train.py NAME OVERRIDES...`` would, with hydra-core's own compose API.

``hydra.initialize_config_dir`` + ``hydra.compose`` give the config the program receives, without running it. Which
files Hydra merged, in which order and under which package, is the defaults list: Hydra's public API does not
expose it, so it is read from ``hydra._internal`` (``ConfigLoaderImpl.compute_defaults_list``, and its
``repository.group_exists`` to tell a group override, ``experiment=x``, from a value one, ``trainer.max_epochs=5``,
as Hydra itself does). That private API may change between Hydra releases: it is used here and nowhere else.

Hydra's own ``hydra`` group is how the program runs (logging, launcher, output folders), not the paper's setup: the
composed config leaves it out (``return_hydra_config=False``), and an option of it that needs a plugin this machine
lacks (``hydra/job_logging: colorlog``) is composed with Hydra's stand-in (``none``) and reported once.

Nothing of the repository's Python is imported or run: only its YAML files are read.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sdmspec.compose.entry import Entry
from sdmspec.errors import ConfigError

if TYPE_CHECKING:
    from omegaconf import DictConfig

# Hydra's own groups whose options a plugin may provide, and the option Hydra ships that changes nothing we check.
_STAND_INS = ("none", "basic", "default")
_MAX_STAND_INS = 8


class ComposeError(ConfigError):
    """Hydra could not compose an entry: one line, Hydra's own first line with what exists instead."""


class HydraMissingError(ConfigError):
    """hydra-core (the ``hydra`` extra) is not installed."""


def require_hydra(command: str) -> None:
    """Raise one line naming the extra when hydra-core or omegaconf cannot be imported."""
    from sdmspec.extras import require_extra

    problem = require_extra("hydra", command)
    if problem is not None:
        raise HydraMissingError(problem)


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


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__


def _missing_message(err: Any) -> str:
    # Hydra's message lists the available options over several lines, then its search path: one line of both.
    line = _first_line(err)
    options = list(getattr(err, "options", None) or ())
    return f"{line} (available: {', '.join(options)})" if options else line


def _hydra_stand_in(err: Any, taken: set[str]) -> tuple[str, str] | None:
    """(group, option) to compose instead when ``err`` is a missing option of one of Hydra's own groups."""
    missing = str(getattr(err, "missing_cfg_file", "") or "")
    group, _, option = missing.rpartition("/")
    if not group.startswith("hydra/") or group in taken:
        return None
    options = list(getattr(err, "options", None) or ())
    for stand_in in _STAND_INS:
        if stand_in in options and stand_in != option:
            return group, stand_in
    return None


def compose_entry(config_dir: Path, entry: Entry) -> Composition:
    """Compose ``entry`` from ``config_dir``; raises :class:`ComposeError` (one line) when Hydra cannot."""
    require_hydra("lint --loader hydra")
    from hydra.errors import MissingConfigException

    overrides = list(entry.overrides)
    stand_ins: list[str] = []
    taken: set[str] = set()
    root = config_dir.resolve()
    if not root.is_dir():
        raise ComposeError(f"{config_dir}: not a folder of Hydra configs")
    for _ in range(_MAX_STAND_INS + 1):
        try:
            return _compose(root, entry, overrides, tuple(stand_ins))
        except MissingConfigException as err:
            substitute = _hydra_stand_in(err, taken)
            if substitute is None:
                raise ComposeError(f"cannot compose {entry.label}: {_missing_message(err)}") from err
            group, option = substitute
            taken.add(group)
            overrides.append(f"{group}={option}")
            stand_ins.append(f"{group}={option}")
    raise ComposeError(f"cannot compose {entry.label}: too many of Hydra's own groups need a missing plugin")


def _compose(root: Path, entry: Entry, overrides: list[str], stand_ins: tuple[str, ...]) -> Composition:
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from hydra.errors import HydraException, MissingConfigException
    from hydra.types import RunMode
    from omegaconf.errors import OmegaConfBaseException

    try:
        with warnings.catch_warnings():
            # Hydra warns about version_base and deprecated defaults-list forms: the program's concern, not lint's.
            warnings.simplefilter("ignore")
            with initialize_config_dir(config_dir=str(root), version_base=None, job_name="sdmspec"):
                config = compose(config_name=entry.config_name, overrides=overrides)
                loader: Any = GlobalHydra.instance().config_loader()
                defaults = loader.compute_defaults_list(entry.config_name, overrides, RunMode.RUN)
                value_overrides = _value_overrides(loader, entry.overrides)
    except MissingConfigException:
        raise
    except (HydraException, OmegaConfBaseException, ValueError, OSError) as err:
        raise ComposeError(f"cannot compose {entry.label}: {_first_line(err)}") from err
    files = tuple(
        MergedFile(result.config_path, result.package, _file_of(root, result.config_path))
        for result in defaults.defaults
        if result.config_path is not None and not _is_hydra_package(result.package)
    )
    return Composition(entry, config, files, value_overrides, stand_ins)


def _is_hydra_package(package: str | None) -> bool:
    return package is not None and (package == "hydra" or package.startswith("hydra."))


def _file_of(root: Path, config_path: str) -> Path | None:
    for suffix in (".yaml", ".yml"):
        candidate = root / f"{config_path}{suffix}"
        if candidate.is_file():
            return candidate
    return None  # from another search-path entry (a package, a structured config): no file of this repository


def _value_overrides(loader: Any, overrides: tuple[str, ...]) -> tuple[ValueOverride, ...]:
    from hydra.core.override_parser.overrides_parser import OverridesParser

    parsed = OverridesParser.create().parse_overrides(list(overrides))
    found: list[ValueOverride] = []
    for index, override in enumerate(parsed):
        key = override.key_or_group
        if loader.repository.group_exists(key) or key.startswith("hydra.") or key == "hydra":
            continue  # a group choice (experiment=x) decides which files merge; hydra.* is Hydra's own config
        found.append(ValueOverride(index, overrides[index], key, override.is_delete()))
    return tuple(found)
