"""Lint what a Hydra program receives: each entry composed, resolved, and checked against the spec's global key paths.

The value and type rules are the same modules per-file lint runs (SDM201 value-mismatch, SDM202, SDM203, SDM204,
SDM303 wrong-type, SDM402 not-divisible): the composed values of the spec's settings are written out as one YAML
document, that document is linted by :func:`sdmspec.lint.engine.lint_sources`, and each finding is moved from its
line there to the place that set the winning value (``configs/experiment/example.yaml:26:9``, or the override).
So a composed finding is the same :class:`~sdmspec.lint.diagnostics.Diagnostic` with the same code, message and
JSON ``key`` (the composed path, ``model.optimizer.lr``) as a per-file one.

Rules about how a file is written (SDM1xx pitfalls, duplicate keys, suppressions) belong to per-file lint: the
composed document is not a file anyone wrote. Unknown keys (SDM301/302) are not reported either: a composed config
holds the whole program's settings (``_target_``, callbacks, loggers), of which a spec names the paper's.

What cannot be checked gets its own finding: a composition Hydra refuses (SDM010), a value known only at run time
(SDM205), a ``???`` the entry leaves unset where the paper pins the key (SDM206), an interpolation that cannot be
resolved here (SDM207); an option of Hydra's own groups needing a missing plugin is composed with a stand-in and
said once (SDM011).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode

from sdmspec.compose.composition import Composition
from sdmspec.compose.entry import Entry
from sdmspec.compose.hydra_compose import ComposeError, HydraComposer, compose_entry
from sdmspec.compose.interpolation import Resolved, Resolver, Status
from sdmspec.compose.provenance import Origin, ProvenanceMap, provenance
from sdmspec.lint.diagnostics import Diagnostic, Location
from sdmspec.lint.engine import LintResult, lint_sources
from sdmspec.lint.rules import (
    Rule,
    compose_error,
    hydra_plugin_missing,
    mandatory_missing,
    runtime_value,
    unresolved_interpolation,
)
from sdmspec.lint.selection import select_rules
from sdmspec.lint.source import read_source
from sdmspec.schema import PaperSpec

# The per-file rules that judge values, which the composed document is linted with (see the module docstring).
VALUE_RULES = ("SDM201", "SDM202", "SDM203", "SDM204", "SDM303", "SDM402")
_COMPOSED = "<composed>"


@dataclass(frozen=True)
class ComposedEntry:
    """One entry's composition and what lint made of it: the resolved values of the spec's settings and where each
    was set. ``composition`` is None when Hydra refused it (``error`` says why)."""

    entry: Entry
    composition: Composition | None
    values: dict[str, Resolved]
    origins: ProvenanceMap
    error: str | None = None

    def resolved_config(self) -> dict[str, object]:
        """The composed config with every interpolation lint may resolve resolved; the rest as written."""
        if self.composition is None:
            return {}
        resolver = Resolver(self.composition.config)
        tree: dict[str, object] = {}
        for key in resolver.raw:
            resolved = resolver.resolve(key) if _interpolated(resolver.raw[key]) else None
            value = resolved.value if resolved is not None and resolved.status is Status.VALUE else resolver.raw[key]
            put_key(tree, key, value)
        return tree


def _interpolated(value: object) -> bool:
    return "${" in str(value)


def put_key(tree: dict[str, object], key: str, value: object) -> None:
    parts = key.split(".")
    here = tree
    for part in parts[:-1]:
        child = here.setdefault(part, {})
        if not isinstance(child, dict):
            child = here[part] = {}
        here = child
    here[parts[-1]] = value


def compose_and_resolve(
    config_dir: Path, entry: Entry, spec: PaperSpec, composer: HydraComposer | None = None
) -> ComposedEntry:
    """Compose ``entry`` and resolve the spec's settings in it (and the sections the spec expects to be mappings)."""
    try:
        composition = composer.compose(entry) if composer is not None else compose_entry(config_dir, entry)
    except ComposeError as err:
        return ComposedEntry(entry, None, {}, ProvenanceMap(), error=str(err))
    resolver = Resolver(composition.config)
    values: dict[str, Resolved] = {}
    for key in _wanted_keys(spec, resolver):
        values[key] = resolver.resolve(key)
    return ComposedEntry(entry, composition, values, provenance(composition, config_dir))


def _wanted_keys(spec: PaperSpec, resolver: Resolver) -> list[str]:
    """The spec's settings the composed config holds, and any of their sections it holds as a non-mapping."""
    wanted: dict[str, None] = {}
    for key in spec.settings:
        if resolver.has(key):
            wanted[key] = None
            continue
        parts = key.split(".")
        for end in range(1, len(parts)):
            ancestor = ".".join(parts[:end])
            if resolver.has(ancestor):  # a leaf where the spec has a section (``optimizer: adam``)
                wanted[ancestor] = None
                break
    return list(wanted)


def plain_value(value: object) -> object:
    """A value PyYAML's safe dumper can write (structured configs may hold enums or paths)."""
    if isinstance(value, dict):
        return {str(k): plain_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain_value(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def _document(values: dict[str, Resolved]) -> str:
    tree: dict[str, object] = {}
    for key, resolved in values.items():
        if resolved.status is Status.VALUE:
            put_key(tree, key, plain_value(resolved.value))
    if not tree:
        return "{}\n"
    return yaml.safe_dump(tree, default_flow_style=None, sort_keys=False, allow_unicode=True, width=1 << 16)


def _line_keys(text: str) -> dict[int, str]:
    """1-based line of the composed document -> the leaf key whose value is written there."""
    document = yaml.compose(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    lines: dict[int, str] = {}
    pending: list[tuple[Node, str]] = [(document, "")] if document is not None else []
    while pending:
        node, prefix = pending.pop()
        if not isinstance(node, MappingNode):
            continue
        for key, value in node.value:
            if not isinstance(key, ScalarNode):
                continue
            path = f"{prefix}.{key.value}" if prefix else str(key.value)
            if isinstance(value, MappingNode) and value.value:
                pending.append((value, path))
                continue
            for line in range(key.start_mark.line + 1, max(value.end_mark.line, key.start_mark.line) + 2):
                lines.setdefault(line, path)
    return lines


def _selected(rules: Sequence[Rule], code: str) -> bool:
    return code in {rule.CODE for rule in rules}


def _diagnostic(
    rule: Rule,
    message: str,
    *,
    location: Location | None = None,
    key: str | None = None,
    related: tuple[Location, ...] = (),
    end: tuple[int | None, int | None] = (None, None),
    expected: str | None = None,
    source: str | None = None,
) -> Diagnostic:
    return Diagnostic(
        file=location.file if location else None,
        line=location.line if location else None,
        column=location.column if location else None,
        end_line=end[0],
        end_column=end[1],
        code=rule.CODE,
        name=rule.NAME,
        severity=rule.SEVERITY,
        message=message,
        key=key,
        expected=expected,
        source=source,
        related=related,
    )


def _moved(diagnostic: Diagnostic, composed: ComposedEntry, path: str | None) -> Diagnostic:
    """``diagnostic`` (found in the composed document) at the place that set the value, naming both places for an
    interpolated value."""
    key = diagnostic.key or path
    leaf = _leaf_of(key) if key else None
    origin = composed.origins.origins.get(leaf) if leaf else None
    resolved = composed.values.get(leaf) if leaf else None
    message = diagnostic.message
    related = diagnostic.related
    if resolved is not None and resolved.raw is not None:
        written = _origin_of(composed, resolved.via[-1]) if resolved.via else None
        if written is not None and written.location is not None:
            related = (*related, written.location)
            message += f" (from {resolved.raw}: {resolved.via[-1]} is set at {written.describe()})"
        else:
            message += f" (from {resolved.raw})"
    message += f" [entry: {composed.entry.label}]"
    if origin is None:
        return dataclasses.replace(
            diagnostic, file=None, line=None, column=None, end_line=None, end_column=None, message=message,
            related=related, fix=None,
        )  # fmt: skip
    location = origin.location
    if location is not None and diagnostic.key and "[" in diagnostic.key and origin.items:
        index = int(diagnostic.key.rsplit("[", 1)[1].rstrip("]"))
        if index < len(origin.items):
            location = origin.items[index]
    if location is None:
        message = message.replace(" [entry:", f" (set by {origin.describe()}) [entry:")
    return dataclasses.replace(
        diagnostic,
        file=location.file if location else None,
        line=location.line if location else None,
        column=location.column if location else None,
        end_line=origin.end_line if location is origin.location else None,
        end_column=origin.end_column if location is origin.location else None,
        message=message,
        related=related,
        fix=None,  # a fix edits the file it was found in: the composed document is no one's file
    )


def _leaf_of(key: str) -> str:
    """The leaf a list element's key (``milestones[2]``) belongs to."""
    return key.split("[", 1)[0]


def _origin_of(composed: ComposedEntry, key: str) -> Origin | None:
    return composed.origins.origins.get(key)


def _entry_location(entry: Entry) -> Location | None:
    return entry.where


def lint_entry(
    composed: ComposedEntry, spec: PaperSpec, rules: Sequence[Rule], *, spec_path: Path | None = None
) -> list[Diagnostic]:
    """The findings of one composed entry (see the module docstring)."""
    entry = composed.entry
    label = f"[entry: {entry.label}]"
    if composed.composition is None:
        if not _selected(rules, compose_error.CODE):
            return []
        return [_diagnostic(compose_error, f"{composed.error} {label}", location=_entry_location(entry))]
    found: list[Diagnostic] = []
    if _selected(rules, hydra_plugin_missing.CODE):
        for stand_in in composed.composition.stand_ins:
            group = stand_in.split("=", 1)[0]
            message = (
                f"{group}: the option this repository picks needs a Hydra plugin that is not installed; composed with"
                f" {stand_in} (Hydra's own group is how the program runs, not the paper's setup) {label}"
            )
            found.append(_diagnostic(hydra_plugin_missing, message, location=_entry_location(entry)))
    value_rules = [rule for rule in rules if rule.CODE in VALUE_RULES]
    text = _document(composed.values)
    result = lint_sources([read_source(text.encode("utf-8"), _COMPOSED)], spec, value_rules, spec_path=spec_path)
    lines = _line_keys(text)
    reported_apart = {key for key, resolved in composed.values.items() if resolved.status is not Status.VALUE}
    for diagnostic in result.diagnostics:
        if diagnostic.code == "SDM203" and diagnostic.key in reported_apart:
            continue  # the key is there, its value is not known here: said below, once
        if diagnostic.file != _COMPOSED:
            found.append(dataclasses.replace(diagnostic, message=f"{diagnostic.message} {label}"))
            continue
        found.append(_moved(diagnostic, composed, lines.get(diagnostic.line or 0)))
    found.extend(_unknown_values(composed, spec, rules, label))
    return _anchored(_unsuppressed(found), spec, spec_path, composed)


def _unsuppressed(found: list[Diagnostic]) -> list[Diagnostic]:
    """Without the findings a suppression silences on their line (``# sdmspec: ignore[SDM201] reason`` beside the
    winning value), as per-file lint honours them. Whether a suppression has a reason or silences anything (SDM901,
    SDM902) stays per-file lint's to say: the composed lint sees only the lines that win."""
    from sdmspec.lint.selection import find_rule
    from sdmspec.lint.source import read_source
    from sdmspec.lint.suppress import Suppression, find_suppressions

    by_file: dict[str, tuple[Suppression, ...]] = {}
    kept: list[Diagnostic] = []
    for diagnostic in found:
        if diagnostic.file is None or diagnostic.line is None:
            kept.append(diagnostic)
            continue
        if diagnostic.file not in by_file:
            try:
                data = Path(diagnostic.file).read_bytes()
            except OSError:
                data = b""
            by_file[diagnostic.file] = find_suppressions(read_source(data, diagnostic.file))
        silenced = any(
            suppression.line == diagnostic.line
            and (not suppression.codes or any(_names(code, diagnostic.code, find_rule) for code in suppression.codes))
            for suppression in by_file[diagnostic.file]
        )
        if not silenced:
            kept.append(diagnostic)
    return kept


def _names(code: str, wanted: str, find: Callable[[str], Rule | None]) -> bool:
    rule = find(code)
    return rule is not None and wanted == rule.CODE


def _anchored(
    found: list[Diagnostic], spec: PaperSpec, spec_path: Path | None, composed: ComposedEntry
) -> list[Diagnostic]:
    """A finding with no place in a file (a value an override on the command line sets) carries where the spec
    defines its setting, as SDM203 does: the anchor SARIF and GitHub annotations need."""
    if all(d.file is not None or d.spec_location is not None or d.key is None for d in found):
        return found
    from sdmspec.lint.spec_positions import setting_definitions

    files = composed.composition.files if composed.composition is not None else ()
    definitions = setting_definitions(spec, spec_path, [m.path for m in files if m.path is not None])
    return [
        dataclasses.replace(d, spec_location=definitions.get(_leaf_of(d.key)))
        if d.file is None and d.spec_location is None and d.key is not None
        else d
        for d in found
    ]


def _unknown_values(
    composed: ComposedEntry, spec: PaperSpec, rules: Sequence[Rule], label: str
) -> Iterable[Diagnostic]:
    for key, resolved in composed.values.items():
        setting = spec.settings.get(key)
        if setting is None or resolved.status is Status.VALUE:
            continue
        origin = composed.origins.origins.get(key)
        location = origin.location if origin else None
        end = (origin.end_line, origin.end_column) if origin else (None, None)
        related: tuple[Location, ...] = ()
        where_written = ""
        if resolved.via:
            written = _origin_of(composed, resolved.via[-1])
            if written is not None and written.location is not None:
                related = (written.location,)
                where_written = f"; {resolved.via[-1]} is set at {written.describe()}"
        shown = f" ({resolved.raw})" if resolved.raw else ""
        if resolved.status is Status.MISSING:
            if not setting.pinned or not _selected(rules, mandatory_missing.CODE):
                continue
            rule: Rule = mandatory_missing
            expected = setting.expected_text()
            message = f"{key}{shown} is left unset: {resolved.why}{where_written}; the paper says {expected}"
        elif resolved.status is Status.RUNTIME:
            if not _selected(rules, runtime_value.CODE):
                continue
            rule = runtime_value
            message = f"{key}{shown} is known only at run time: {resolved.why}{where_written}"
        else:
            if not _selected(rules, unresolved_interpolation.CODE):
                continue
            rule = unresolved_interpolation
            message = f"{key}{shown} cannot be resolved here: {resolved.why}{where_written}"
        if location is None and origin is not None:
            message += f" (set by {origin.describe()})"
        yield _diagnostic(
            rule, f"{message} {label}", location=location, key=key, related=related, end=end,
            expected=setting.expected_text() if setting.pinned else None, source=setting.source,
        )  # fmt: skip


def _merged(diagnostics: Iterable[Diagnostic]) -> list[Diagnostic]:
    """One diagnostic for a finding several entries share (the same file, place, rule and key): the entries listed."""
    kept: dict[tuple[object, ...], tuple[Diagnostic, str, list[str]]] = {}
    for diagnostic in diagnostics:
        base, _, label = diagnostic.message.rpartition(" [entry: ")
        identity = (diagnostic.file, diagnostic.line, diagnostic.column, diagnostic.code, diagnostic.key, base)
        first, _, labels = kept.setdefault(identity, (diagnostic, base, []))
        if label.rstrip("]") not in labels:
            labels.append(label.rstrip("]"))
    merged: list[Diagnostic] = []
    for first, base, labels in kept.values():
        if len(labels) > 1:
            first = dataclasses.replace(first, message=f"{base} [entries: {'; '.join(labels)}]")
        merged.append(first)
    return merged


def lint_composed(
    config_dir: Path,
    entries: Sequence[Entry],
    spec: PaperSpec,
    *,
    select: Collection[str] | None = None,
    ignore: Collection[str] | None = None,
    spec_path: Path | None = None,
) -> LintResult:
    """Compose each entry once from ``config_dir`` and lint it against ``spec``; one result for all of them."""
    rules = select_rules(select, ignore)
    diagnostics: list[Diagnostic] = []
    files: set[str] = set()
    with HydraComposer(config_dir) as composer:
        for entry in entries:
            composed = compose_and_resolve(config_dir, entry, spec, composer)
            diagnostics.extend(lint_entry(composed, spec, rules, spec_path=spec_path))
            if composed.composition is not None:
                files.update(str(merged.path) for merged in composed.composition.files if merged.path is not None)
    ordered = tuple(sorted(_merged(diagnostics), key=lambda d: d.sort_key))
    return LintResult(ordered, files=len(files), root=str(config_dir), loader="hydra")
