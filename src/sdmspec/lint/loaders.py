"""How the program reads its configs: the loader whose reading lint reports, chosen by name or detected.

The same text means different things to different loaders, and a pitfall exists only where the program's loader has
it. ``yaml`` is PyYAML's ``yaml.safe_load`` (YAML 1.1): ``2e-4`` is a string. ``omegaconf`` is OmegaConf's own YAML
loader (``OmegaConf.load``, what torchtune and every Hydra app read with): its resolver fixes PyYAML's floats, so
``2e-4`` is the float 0.0002, but keeps the other YAML 1.1 readings (``no`` is False, ``010`` is 8, ``2.10`` is 2.1,
``1:30`` is 90), drops timestamps (``2020-01-01`` stays a string), refuses duplicate keys, and gives ``${...}``
(an interpolation, resolved when the program reads the value) and ``???`` (a value that must be given on the
command line) their meaning.

Lint composes each file with the chosen loader's own PyYAML loader class, so each scalar's tag is what that loader
resolves, never a copy of its patterns; OmegaConf's classification of a string (value, interpolation, missing) is
OmegaConf's own ``get_value_kind``. Nothing is ever resolved or constructed here: a ``${eval:...}`` is code the
program registers and stays text.

``auto`` (the default) picks ``omegaconf`` when any config holds what only OmegaConf or Hydra give a meaning to
(``${``, ``???``, a ``_target_`` or ``_component_`` key, a ``defaults:`` list), ``yaml`` otherwise. One loader
is used for the whole run: a repository's program reads all its configs the same way.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import Enum
from functools import cached_property
from typing import Any

import yaml

from sdmspec.errors import ConfigError

LOADER_NAMES = ("auto", "yaml", "omegaconf")
OMEGACONF_INSTALL = "pip install 'sdmspec[omegaconf]'"


class Deferred(str, Enum):
    """A value the loader does not give when the file is read: it comes from elsewhere when the program runs."""

    INTERPOLATION = "interpolation"
    MISSING = "missing"


@dataclass(frozen=True)
class ConfigLoader:
    """One loader: its name, how messages name what the program receives, and the PyYAML loader it composes with."""

    name: str
    program: str
    yaml_loader: type[Any]
    refuses_duplicate_keys: bool = False
    # Whether a document may be a list (OmegaConf's ListConfig: Hydra's list-valued group files).
    top_level_lists: bool = False
    # Classifies a string value (None: a plain value); only loaders with interpolations have one.
    classify: Callable[[str], Deferred | None] | None = None

    def deferred(self, text: str) -> Deferred | None:
        """Whether a string is an interpolation or a must-come-from-the-command-line value under this loader."""
        return self.classify(text) if self.classify is not None and ("${" in text or "???" in text) else None

    @cached_property
    def yaml11_floats(self) -> bool:
        """Whether ``2e-4`` (no dot) is a string here, as under PyYAML: asked of the loader's own resolver."""
        node = yaml.compose("2e-4", Loader=self.yaml_loader)
        return isinstance(node, yaml.ScalarNode) and node.tag == "tag:yaml.org,2002:str"


YAML_LOADER = ConfigLoader("yaml", "yaml.safe_load", getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def _omegaconf_yaml_loader() -> Any:
    # The function moved from omegaconf._utils (2.3) to omegaconf._yaml (2.4): use whichever this version has (looked
    # up by name, so that mypy checks this against either version; hydra-core 1.3 pins OmegaConf below 2.4).
    import importlib

    for module in ("omegaconf._yaml", "omegaconf._utils"):
        try:
            get_yaml_loader = importlib.import_module(module).get_yaml_loader
        except (ImportError, AttributeError):
            continue
        return get_yaml_loader()
    raise ConfigError(f"this OmegaConf has no get_yaml_loader (neither 2.3's nor 2.4's): {OMEGACONF_INSTALL}")


def omegaconf_loader() -> ConfigLoader:
    """The ``omegaconf`` loader; a one-line :class:`ConfigError` naming the install command without the extra."""
    try:
        from omegaconf._utils import ValueKind, get_value_kind
    except ImportError as err:
        raise ConfigError(f"the omegaconf loader needs OmegaConf (not installed): {OMEGACONF_INSTALL}") from err
    kinds = {ValueKind.INTERPOLATION: Deferred.INTERPOLATION, ValueKind.MANDATORY_MISSING: Deferred.MISSING}

    def classify(text: str) -> Deferred | None:
        return kinds.get(get_value_kind(text))

    return ConfigLoader("omegaconf", "OmegaConf.load", _omegaconf_yaml_loader(), True, True, classify)


# What only OmegaConf or Hydra gives a meaning to; checked on the text, before any loader is chosen.
_OMEGACONF_MARKS = re.compile(
    r"\$\{|:\s*['\"]?\?\?\?['\"]?\s*(?:#.*)?$|^\s*['\"]?_(?:target|component)_['\"]?\s*:|^defaults:\s*(?:#.*)?\n\s*-",
    re.MULTILINE,
)


def looks_like_omegaconf(text: str) -> bool:
    return _OMEGACONF_MARKS.search(text) is not None


def detect(texts: Iterable[str]) -> str:
    """``omegaconf`` when any of the configs' texts holds an OmegaConf/Hydra mark, else ``yaml``."""
    return "omegaconf" if any(looks_like_omegaconf(text) for text in texts) else "yaml"


def get_loader(name: str, texts: Iterable[str] = ()) -> ConfigLoader:
    """The loader called ``name`` (``auto``: detected from ``texts``); a one-line ConfigError for an unknown name."""
    if name == "auto":
        name = detect(texts)
    if name == "yaml":
        return YAML_LOADER
    if name == "omegaconf":
        return omegaconf_loader()
    raise ConfigError(f"unknown loader {name!r} (known: {', '.join(LOADER_NAMES)})")
