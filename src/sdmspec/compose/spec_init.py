"""``sdmspec spec init --loader hydra``: a starting spec from one composed entry, and the entry itself as a run.

The composed config (interpolations resolved with OmegaConf's built-ins) is what the program receives, so its key
paths are the global ones a spec checks. It is handed to the per-file scaffold (:mod:`sdmspec.lint.scaffold`) as
one document, so types, defaults and TODO sources are inferred exactly as for files. Values known only at run time,
left ``???`` or unresolvable here are left out, each with a note. ``runs.yaml`` lists the entry.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import yaml

from sdmspec.compose.composed_lint import plain_value, put_key
from sdmspec.compose.entry import Entry
from sdmspec.compose.hydra_compose import compose_entry
from sdmspec.compose.interpolation import Resolver, Status
from sdmspec.lint.scaffold import Scaffold, scaffold


@dataclass(frozen=True)
class ComposedScaffold:
    started: Scaffold
    runs_yaml: str
    notes: tuple[str, ...]


def _runs_yaml(entry: Entry) -> str:
    run: dict[str, object] = {"config-name": entry.config_name}
    if entry.overrides:
        run["overrides"] = list(entry.overrides)
    run["source"] = "TODO: the table or section of the paper that reports this run"
    header = (
        "# The runs the paper reports, as their program is launched (written by `sdmspec spec init --loader hydra`):\n"
        "# `sdmspec lint --loader hydra` composes and checks each one.\n"
    )
    return header + yaml.safe_dump({"runs": [run]}, sort_keys=False, default_flow_style=None, width=120)


def composed_scaffold(config_dir: Path, entry: Entry, title: str) -> ComposedScaffold:
    """The starting spec of ``entry`` composed from ``config_dir`` (see the module docstring)."""
    composition = compose_entry(config_dir, entry)
    resolver = Resolver(composition.config)
    tree: dict[str, object] = {}
    notes: list[str] = []
    for key in resolver.raw:
        resolved = resolver.resolve(key)
        if resolved.status is Status.VALUE:
            put_key(tree, key, plain_value(resolved.value))
        else:
            notes.append(f"{key} ({resolved.status.value}: {resolved.why})")
    with tempfile.TemporaryDirectory(prefix="sdmspec-init-") as folder:
        document = Path(folder) / f"{entry.config_name}.composed.yaml"
        document.write_text(yaml.safe_dump(tree, sort_keys=False, allow_unicode=True), encoding="utf-8")
        started = scaffold([document])
    return ComposedScaffold(started, _runs_yaml(entry), (*notes, *started.skipped))
