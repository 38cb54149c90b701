"""Render a spec as the paper's "Experimental Setup" in Markdown: every value with its source, assumptions flagged.

The document follows the spec: one part per titled section of the ``config`` tree (its ``title`` and
``description`` written in the section; an untitled top-level section is titled by its name), in the order the
spec writes them, then the rules between settings, then this pipeline's sections when the spec has them
(:mod:`mamba_sdm.setup_doc`), then the assumptions and the sources still to quote. The text depends on the spec
only (no dates, no machine facts), so the committed file can be checked for drift.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from sdmspec.docs.text import ASSUMPTION, sourced, table, without_prefix
from sdmspec.plugins import PluginError, references, resolve
from sdmspec.schema import PaperSpec, SectionInfo, Setting
from sdmspec.schema.setting import format_value

NOT_GIVEN = "*not given by the paper*"
ENVIRONMENT_SECTION = "environment"


@dataclass(frozen=True)
class DocParts:
    """What a paper pipeline adds to the setup document (``Pipeline.setup_doc``): the parts for its own spec sections
    (after the settings), and its sections' values marked as assumptions (list items, in the assumptions part)."""

    parts: Callable[[PaperSpec], list[str]]
    assumptions: Callable[[PaperSpec], list[str]]


def _pipeline_parts() -> list[DocParts]:
    found: list[DocParts] = []
    for pipeline, reference in references("setup_doc"):
        parts = resolve(reference)
        if not isinstance(parts, DocParts):
            raise PluginError(f"pipeline {pipeline.name!r}: {reference} is not a sdmspec.docs.render.DocParts")
        found.append(parts)
    return found


@dataclass
class Group:
    """The settings one part of the document shows: those of a titled section not claimed by a titled subsection."""

    path: str
    title: str
    description: str = ""
    settings: list[Setting] = field(default_factory=list)


def _setting_row(setting: Setting) -> tuple[str, str, str]:
    if setting.unspecified:
        default = "no default" if setting.default is None else f"default `{format_value(setting.default)}`"
        value = f"{NOT_GIVEN}; {default}"
    elif setting.one_of is not None:
        value = "one of " + ", ".join(f"`{format_value(v)}`" for v in setting.one_of)
    elif setting.range is not None:
        low, high = (format_value(end) for end in setting.range)
        value = f"between `{low}` and `{high}`"
        value += f"; default `{format_value(setting.default)}`" if setting.default is not None else ""
    else:
        value = f"`{setting.expected_text()}`"
    if setting.nullable:
        value += "; or `null` (none)"
    return f"`{setting.key}`", value, sourced(setting.source)


def _settings_table(settings: Sequence[Setting]) -> list[str]:
    return table(("Setting", "Value", "Source"), (_setting_row(setting) for setting in settings))


def setting_groups(spec: PaperSpec) -> list[Group]:
    """The settings grouped by their nearest titled section (else their top-level section), in the spec's order."""
    info: dict[str, SectionInfo] = {section.path: section for section in spec.section_info}
    groups: dict[str, Group] = {}
    for key, setting in spec.settings.items():
        parts = key.split(".")[:-1]
        ancestors = [".".join(parts[:depth]) for depth in range(len(parts), 0, -1)]
        titled = next((path for path in ancestors if info.get(path) and info[path].title), None)
        path = titled if titled is not None else (parts[0] if parts else "")
        if path not in groups:
            section = info.get(path)
            title = section.title if section and section.title else (f"`{path}`" if path else "Settings")
            groups[path] = Group(path, title, section.description if section else "")
        groups[path].settings.append(setting)
    return list(groups.values())


def _settings(spec: PaperSpec) -> list[str]:
    lines: list[str] = []
    for group in setting_groups(spec):
        lines += [f"## {group.title}", ""]
        if group.description:
            lines += [group.description.strip(), ""]
        lines += _settings_table(group.settings)
        if group.path == ENVIRONMENT_SECTION:
            lines += ["`sdmspec env` compares a machine with these values.", ""]
    if spec.rules:
        lines += ["## Rules between settings", ""]
        lines += [f"- `{r.divisor}` {r.kind.value} `{r.dividend}` ({sourced(r.source)})" for r in spec.rules] + [""]
    return lines


def _assumptions(spec: PaperSpec) -> list[str]:
    found = [f"- `{s.key}`: {without_prefix(s.source)}" for s in spec.settings.values() if s.is_assumption]
    for extension in _pipeline_parts():
        found += extension.assumptions(spec)
    unspecified = [f"`{s.key}`" for s in spec.settings.values() if s.unspecified]
    lines = ["## Assumptions to confirm with the authors", ""]
    lines += found or ["- none"]
    if unspecified:
        lines += ["", f"Not given by the paper (the spec's defaults apply): {', '.join(unspecified)}."]
    todo = [f"`{s.key}`" for s in spec.settings.values() if s.is_todo]
    if todo:
        lines += ["", f"Sources still to quote from the paper (TODO): {', '.join(todo)}."]
    return [*lines, ""]


def render_setup(spec: PaperSpec) -> str:
    """The Markdown text of EXPERIMENTAL_SETUP.md for ``spec``."""
    lines = [
        "# Experimental setup",
        "",
        "<!-- Generated by `sdmspec docs` from spec/: do not edit by hand; `sdmspec docs --check` fails on drift. -->",
        "",
        f"**{spec.paper.title}**. {spec.paper.description}".rstrip(),
        "",
        f"Every value below cites its source in {spec.paper.source.strip()}: the paper's words, or {ASSUMPTION} for "
        f"a value the paper does not give, to be confirmed with the authors. Spec digest `{spec.digest[:16]}`.",
        "",
    ]
    lines += _settings(spec)
    for extension in _pipeline_parts():
        lines += extension.parts(spec)
    lines += _assumptions(spec)
    return "\n".join(lines).rstrip("\n") + "\n"
