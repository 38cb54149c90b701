"""``sdmspec lint --loader hydra``: which entries to compose (the command line's, else the spec's) from which folder.

The command line's ``--config-name`` (with its ``--override``\\ s) is one entry; without it, the spec's entries
(``spec/runs.yaml``) are linted, each composed once. A config folder that is not a folder, an override without a
config name, or nothing to compose is a usage error (one line, exit 2).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from pathlib import Path

from sdmspec.compose.composed_lint import lint_composed
from sdmspec.compose.entry import Entry
from sdmspec.compose.hydra_compose import require_hydra
from sdmspec.compose.spec_entries import spec_entries
from sdmspec.errors import ConfigError
from sdmspec.lint.engine import LintResult
from sdmspec.schema import PaperSpec


def hydra_lint(
    targets: Sequence[Path],
    spec: PaperSpec,
    *,
    config_name: str | None,
    overrides: Sequence[str] = (),
    select: Collection[str] | None = None,
    ignore: Collection[str] | None = None,
    spec_path: Path | None = None,
) -> LintResult:
    """Lint the composed config of each entry (see the module docstring)."""
    require_hydra("lint --loader hydra")
    if len(targets) != 1 or not targets[0].is_dir():
        shown = ", ".join(map(str, targets))
        raise ConfigError(f"--loader hydra composes from one config folder (Hydra's config_path); got {shown}")
    if config_name is None and overrides:
        raise ConfigError("--override needs --config-name (the entries in spec/runs.yaml carry their own overrides)")
    entries = [Entry(config_name, tuple(overrides))] if config_name is not None else spec_entries(spec, spec_path)
    if not entries:
        raise ConfigError(
            "--loader hydra needs --config-name NAME (e.g. train), or entries in the spec (runs: in spec/runs.yaml)"
        )
    return lint_composed(targets[0], entries, spec, select=select, ignore=ignore, spec_path=spec_path)
