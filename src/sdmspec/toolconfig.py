"""``[tool.sdmspec]`` in a repository's ``pyproject.toml``: where its configs and spec are, and how its program reads
the configs (the loader), so a bare ``sdmspec lint`` in that repository does what its author set up.

``pyproject.toml`` is the Python ecosystem's place for a tool's settings (ruff, mypy and pytest read theirs there).
The nearest one at or above the starting folder is used, as those tools do; one without a ``[tool.sdmspec]`` table
gives the defaults. Keys::

    [tool.sdmspec]
    loader = "omegaconf"      # auto (default), yaml, omegaconf
    configs = ["configs"]     # what `sdmspec lint` and `spec init` read when given no path
    spec = "spec"             # the spec folder, relative to pyproject.toml

A key this version does not know, or a value of the wrong type, is a one-line error naming the file (exit 2).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from sdmspec.errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10 only
    import tomli as tomllib

PYPROJECT = "pyproject.toml"


class ToolConfig(BaseModel):
    """The ``[tool.sdmspec]`` table; every field is optional (None: the command's own default)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    loader: str | None = None
    configs: tuple[str, ...] | None = None
    spec: str | None = None
    config_name: str | None = Field(default=None, alias="config-name")
    overrides: list[str] = Field(default_factory=list)

    @field_validator("configs", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value


def _first_error(err: ValidationError) -> str:
    error = err.errors()[0]
    where = ".".join(str(part) for part in error["loc"]) or "tool.sdmspec"
    if error["type"] == "extra_forbidden":
        known = ", ".join(sorted(field.alias or name for name, field in ToolConfig.model_fields.items()))
        return f"unknown key {where!r} (known: {known})"
    return f"{where}: {error['msg']}"


def read_tool_config(path: Path) -> ToolConfig:
    """The ``[tool.sdmspec]`` table of one ``pyproject.toml`` (the defaults when it has none)."""
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except OSError as err:
        raise ConfigError(f"{path}: cannot read: {err.strerror or err}") from err
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{path}: not valid TOML: {err}") from err
    table = data.get("tool", {}).get("sdmspec", {}) if isinstance(data.get("tool"), dict) else {}
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [tool.sdmspec] must be a table")
    try:
        return ToolConfig.model_validate(table)
    except ValidationError as err:
        raise ConfigError(f"{path}: [tool.sdmspec] {_first_error(err)}") from err


def find_tool_config(start: Path) -> tuple[ToolConfig, Path | None]:
    """The settings of the nearest ``pyproject.toml`` at or above ``start``, and its path (None: there is none)."""
    here = start.resolve()
    if here.is_file():
        here = here.parent
    for folder in (here, *here.parents):
        candidate = folder / PYPROJECT
        if candidate.is_file():
            return read_tool_config(candidate), candidate
    return ToolConfig(), None
