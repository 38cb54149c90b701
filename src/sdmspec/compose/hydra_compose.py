"""Compose an entry the way ``python train.py NAME OVERRIDES...`` would, with hydra-core's own compose API.

``hydra.initialize_config_dir`` sets Hydra up on the folder, as ``@hydra.main`` does, and the config is composed
the way ``hydra.compose`` composes it, without running the program. Which files Hydra merged, in which order and
under which package, is the defaults list, and which overrides are values (``trainer.max_epochs=5``) rather than
group choices (``experiment=x``) is decided while building it: Hydra's public API exposes neither, so composition
goes through the steps ``hydra.compose`` runs, in ``hydra._internal`` (``create_defaults_list``, then the
loader's ``_compose_config_from_defaults_list`` and ``_apply_overrides_to_config``), keeping the defaults list.
That private API may change between Hydra releases: it is used here and nowhere else, and a test holds the result
equal to ``hydra.compose``'s.

Hydra's own ``hydra`` group is how the program runs (logging, launcher, output folders), not the paper's setup: the
composed config leaves it out (``return_hydra_config=False``), and an option of it that needs a plugin this machine
lacks (``hydra/job_logging: colorlog``) is composed with Hydra's stand-in (``none``) and reported once.

Nothing of the repository's Python is imported or run: only its YAML files are read.
"""

from __future__ import annotations

import dataclasses
import warnings
from pathlib import Path
from typing import Any

from sdmspec.compose import cache
from sdmspec.compose.cache import entry_key, folder_digest
from sdmspec.compose.composition import Composition, MergedFile, ValueOverride
from sdmspec.compose.entry import Entry
from sdmspec.errors import ConfigError

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


class HydraComposer:
    """Composes entries from one config folder inside one Hydra initialization (``with HydraComposer(dir) as c``).

    A stand-in one entry needed (``hydra/job_logging=none``) is tried first for the next ones: the plugin is missing
    for all of them, and each failed attempt costs a composition.
    """

    def __init__(self, config_dir: Path, *, use_cache: bool = True) -> None:
        self.config_dir = config_dir
        self.use_cache = use_cache
        self._digest = ""
        self.root = config_dir.resolve()
        self.stand_ins: dict[str, str] = {}
        self._context: Any = None
        self._loader: Any = None
        # Each file as Hydra loaded it, shared by the entries: see _shared_loads_repository.
        self._loaded: dict[str, Any] = {}

    def __enter__(self) -> HydraComposer:
        require_hydra("lint --loader hydra")
        if not self.root.is_dir():
            raise ComposeError(f"{self.config_dir}: not a folder of Hydra configs")
        self._digest = folder_digest(self.root) if self.use_cache else ""
        return self

    def _initialized(self) -> Any:
        """Hydra set up on the folder, on the first entry the cache does not hold (it costs half a second)."""
        if self._loader is None:
            from hydra import initialize_config_dir
            from hydra.core.global_hydra import GlobalHydra

            self._context = initialize_config_dir(config_dir=str(self.root), version_base=None, job_name="sdmspec")
            self._context.__enter__()
            self._loader = GlobalHydra.instance().config_loader()
        return self._loader

    def __exit__(self, *exc: object) -> None:
        if self._context is not None:
            self._context.__exit__(*exc)

    def compose(self, entry: Entry) -> Composition:
        """Compose ``entry`` (or take its stored composition, :mod:`sdmspec.compose.cache`); raises
        :class:`ComposeError` (one line) when Hydra cannot."""
        key = entry_key(self._digest, entry) if self._digest else None
        if key is not None:
            kept = cache.load(key, self.root, entry)
            if kept is not None:
                return kept
        composition = self._compose_with_stand_ins(entry)
        if key is not None:
            cache.store(key, self.root, composition)
        return composition

    def _compose_with_stand_ins(self, entry: Entry) -> Composition:
        from hydra.errors import MissingConfigException

        chosen = {override.split("=", 1)[0].lstrip("+~") for override in entry.overrides}
        stand_ins = {group: option for group, option in self.stand_ins.items() if group not in chosen}
        for _ in range(_MAX_STAND_INS + 1):
            overrides = [*entry.overrides, *(f"{group}={option}" for group, option in stand_ins.items())]
            try:
                composition = self._compose(entry, overrides)
            except MissingConfigException as err:
                substitute = _hydra_stand_in(err, set(stand_ins) | chosen)
                if substitute is None:
                    raise ComposeError(f"cannot compose {entry.label}: {_missing_message(err)}") from err
                stand_ins[substitute[0]] = substitute[1]
                continue
            self.stand_ins.update(stand_ins)
            shown = tuple(f"{group}={option}" for group, option in stand_ins.items())
            return dataclasses.replace(composition, stand_ins=shown)
        raise ComposeError(f"cannot compose {entry.label}: too many of Hydra's own groups need a missing plugin")

    def _compose(self, entry: Entry, overrides: list[str]) -> Composition:
        from hydra._internal.config_loader_impl import ConfigLoaderImpl
        from hydra._internal.defaults_list import create_defaults_list
        from hydra.core.override_parser.overrides_parser import OverridesParser
        from hydra.errors import HydraException, MissingConfigException
        from hydra.types import RunMode
        from omegaconf import OmegaConf, open_dict
        from omegaconf.errors import OmegaConfBaseException

        loader = self._initialized()
        try:
            with warnings.catch_warnings():
                # Hydra warns about deprecated defaults-list forms: the program's concern, not lint's.
                warnings.simplefilter("ignore")
                # ConfigLoaderImpl._load_configuration_impl, what hydra.compose runs, without the parts that fill in
                # the `hydra` node: one defaults list serves both the composition and the provenance (calling
                # hydra.compose and compute_defaults_list would build it, and load every file, twice).
                loader.ensure_main_config_source_available()
                parsed = OverridesParser.create().parse_overrides(overrides=overrides)
                repo = _shared_loads_repository(loader.repository, self._loaded)
                loader._process_config_searchpath(entry.config_name, parsed, repo)
                loader.validate_sweep_overrides_legal(overrides=parsed, run_mode=RunMode.RUN, from_shell=False)
                defaults = create_defaults_list(
                    repo=repo,
                    config_name=entry.config_name,
                    overrides_list=parsed,
                    prepend_hydra=True,
                    skip_missing=False,
                )
                config = loader._compose_config_from_defaults_list(defaults=defaults.defaults, repo=repo)
                OmegaConf.set_struct(config, True)
                ConfigLoaderImpl._apply_overrides_to_config(defaults.config_overrides, config)
                if "hydra" in config:
                    with open_dict(config):
                        del config["hydra"]
        except MissingConfigException:
            raise
        except (HydraException, OmegaConfBaseException, ValueError, OSError) as err:
            raise ComposeError(f"cannot compose {entry.label}: {_first_line(err)}") from err
        files = tuple(
            MergedFile(result.config_path, result.package or "", _file_of(self.root, result.config_path))
            for result in defaults.defaults
            if result.config_path is not None and not _is_hydra_package(result.package)
        )
        value_overrides = _value_overrides(entry.overrides, defaults.config_overrides)
        return Composition(entry, config, files, value_overrides)


def _shared_loads_repository(delegate: Any, loaded: dict[str, Any]) -> Any:
    """Hydra's per-composition caching repository, whose file loads come from ``loaded`` (filled on first use).

    Hydra loads every file of the defaults list afresh for each composition (YAML parsed in pure Python, then
    OmegaConf nodes built), and a composition takes the loaded nodes over without copying them. A handful of
    entries share most files, so each is loaded once and every composition gets a deep copy of it (16 times
    cheaper than loading it again), which it may change as it likes.
    """
    import copy

    from hydra._internal.config_repository import CachingConfigRepository

    class SharedLoads(CachingConfigRepository):
        def load_config(self, config_path: str) -> Any:
            key = f"config_path={config_path}"
            if key not in self.cache:
                if key not in loaded:
                    loaded[key] = self.delegate.load_config(config_path=config_path)
                self.cache[key] = copy.deepcopy(loaded[key])
            return self.cache[key]

    return SharedLoads(delegate)


def compose_entry(config_dir: Path, entry: Entry) -> Composition:
    """Compose one entry from ``config_dir`` (see :class:`HydraComposer` for many)."""
    with HydraComposer(config_dir) as composer:
        return composer.compose(entry)


def _is_hydra_package(package: str | None) -> bool:
    return package is not None and (package == "hydra" or package.startswith("hydra."))


def _file_of(root: Path, config_path: str) -> Path | None:
    for suffix in (".yaml", ".yml"):
        candidate = root / f"{config_path}{suffix}"
        if candidate.is_file():
            return candidate
    return None  # from another search-path entry (a package, a structured config): no file of this repository


def _value_overrides(written: tuple[str, ...], applied: list[Any]) -> tuple[ValueOverride, ...]:
    """The entry's overrides Hydra applied as values (not group choices), with their index among those written."""
    found: list[ValueOverride] = []
    for override in applied:
        line = override.input_line
        if line not in written:
            continue  # a stand-in for one of Hydra's own groups
        key = override.key_or_group
        if key == "hydra" or key.startswith("hydra."):
            continue  # Hydra's own config, left out of the composed config
        found.append(ValueOverride(written.index(line), line, key, override.is_delete()))
    return tuple(found)
