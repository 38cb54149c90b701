"""The settings a job runs with: the configs' values by key path, the spec's value where no config sets one.

Jobs read their hyperparameters through :func:`resolve_settings`, never from the YAML directly, so they follow the
same spec and configs that ``sdmspec lint`` checks. Resolution assumes the configs lint clean (the runner and the
jobs gate on lint first); it still refuses a value of the wrong type rather than passing it on.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from sdmspec.errors import ConfigError
from sdmspec.schema import PaperSpec, Setting, SettingType
from sdmspec.schema.setting import Scalar

CONFIG_SUFFIXES = (".yaml", ".yml")


def config_files(paths: list[Path] | tuple[Path, ...]) -> list[Path]:
    """Every YAML file under ``paths`` (files as given, folders recursively), sorted, without duplicates."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(sorted(p for p in path.rglob("*") if p.suffix in CONFIG_SUFFIXES and p.is_file()))
        elif path.is_file():
            found.append(path)
        else:
            raise ConfigError(f"{path}: no such file or folder")
    return list(dict.fromkeys(found))


def _leaves(tree: Mapping[str, object], prefix: str = "") -> Iterator[tuple[str, object]]:
    for name, value in tree.items():
        key = f"{prefix}{name}"
        if isinstance(value, Mapping):
            yield from _leaves(value, f"{key}.")
        else:
            yield key, value


def _typed(setting: Setting, value: object, where: str) -> Scalar:
    if setting.type is SettingType.BOOL:
        if isinstance(value, bool):
            return value
    elif setting.type is SettingType.INT:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif setting.type is SettingType.FLOAT:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
    elif isinstance(value, str):
        return value
    raise ConfigError(f"{where}: {setting.key} must be {setting.type.value}, got {value!r} (run `sdmspec lint`)")


@dataclass(frozen=True)
class ExperimentSettings:
    """Resolved values by key path, where each came from, and the model configs found (per-file ``model.name``)."""

    values: Mapping[str, Scalar]
    origins: Mapping[str, str]
    models: tuple[str, ...] = field(default=())

    def get(self, key: str) -> Scalar:
        try:
            return self.values[key]
        except KeyError:
            raise ConfigError(
                f"setting {key!r} has no value: not in the configs and the spec gives no default"
            ) from None

    def get_int(self, key: str) -> int:
        value = self.get(key)
        assert isinstance(value, int) and not isinstance(value, bool)
        return value

    def get_float(self, key: str) -> float:
        value = self.get(key)
        assert isinstance(value, float)
        return value

    def get_str(self, key: str) -> str:
        value = self.get(key)
        assert isinstance(value, str)
        return value

    def overlay(self, overrides: Mapping[str, Scalar], origin: str) -> ExperimentSettings:
        """A copy with some values replaced (the smoke scale-down), each recorded with ``origin``."""
        return ExperimentSettings(
            values={**self.values, **overrides},
            origins={**self.origins, **dict.fromkeys(overrides, origin)},
            models=self.models,
        )


def resolve_settings(configs: list[Path] | tuple[Path, ...], spec: PaperSpec) -> ExperimentSettings:
    """Merge the configs under ``configs`` by key path and fill unset settings from the spec."""
    values: dict[str, Scalar] = {}
    origins: dict[str, str] = {}
    models: list[str] = []
    for file in config_files(configs):
        try:
            data = yaml.safe_load(file.read_text(encoding="utf-8"))
        except (OSError, ValueError, yaml.YAMLError) as err:  # ValueError: bad UTF-8, an integer of 4,300+ digits
            raise ConfigError(f"{file}: cannot read config ({str(err).splitlines()[0]}); run `sdmspec lint`") from err
        if not isinstance(data, Mapping):
            continue
        for key, raw in _leaves(data):
            setting = spec.settings.get(key)
            if setting is None or setting.type.is_list:  # the jobs read scalars; lint checks list settings
                continue
            value = _typed(setting, raw, str(file))
            if setting.scope == "per_file":
                if key == "model.name":
                    models.append(str(value))
                continue
            if key in values and not setting.compatible(values[key], value):
                raise ConfigError(
                    f"{key} is {values[key]!r} in {origins[key]} but {value!r} in {file}; run `sdmspec lint`"
                )
            if key in values and len(str(values[key])) >= len(str(value)):
                continue  # compatible and no more specific ("2.1" after "2.1.2+cu121"): keep the first
            values[key] = value
            origins[key] = str(file)
    for key, setting in spec.settings.items():
        if key not in values and setting.scope == "global":
            default = setting.expected_value()
            if default is not None and not isinstance(default, tuple):
                values[key] = default
                origins[key] = "spec default" if setting.unspecified else f"spec ({setting.source})"
    return ExperimentSettings(values=values, origins=origins, models=tuple(dict.fromkeys(models)))
