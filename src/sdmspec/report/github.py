"""GitHub Actions workflow commands: ``::error file=F,line=L,col=C,title=CODE name::message`` annotations.

Infos become ``::notice``; findings about the configs as a whole (a setting no config sets) are annotated on the
line of the spec that defines the setting, or without a file when the spec's files were not found; run-level
notices ("no YAML files under X") are warnings without a file. Values are
escaped as the Actions runner expects (``%``, CR, LF everywhere; ``:`` and ``,`` in properties too).
"""

from __future__ import annotations

from pathlib import Path

from sdmspec.lint.diagnostics import Diagnostic, Severity
from sdmspec.lint.engine import LintResult
from sdmspec.report import ReportOptions

_COMMAND = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "notice"}


def _data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _property(text: str) -> str:
    return _data(text).replace(":", "%3A").replace(",", "%2C")


def _relative(path: str) -> str:
    # Annotations name files relative to the repository root, which is where workflows run.
    candidate = Path(path)
    if candidate.is_absolute() and candidate.is_relative_to(Path.cwd()):
        return candidate.relative_to(Path.cwd()).as_posix()
    return candidate.as_posix()


def annotation(diagnostic: Diagnostic) -> str:
    properties = []
    if diagnostic.file is not None:
        properties.append(f"file={_property(_relative(diagnostic.file))}")
    if diagnostic.line is not None:
        properties += [f"line={diagnostic.line}", f"col={diagnostic.column}", f"endLine={diagnostic.end_line}"]
        # GitHub accepts endColumn only on single-line annotations.
        if diagnostic.end_line == diagnostic.line:
            properties.append(f"endColumn={diagnostic.end_column}")
    elif diagnostic.file is None and (anchor := diagnostic.spec_location) is not None:
        properties += [f"file={_property(_relative(anchor.file))}", f"line={anchor.line}", f"col={anchor.column}"]
    properties.append(f"title={_property(f'{diagnostic.code} {diagnostic.name}')}")
    message = diagnostic.message
    if diagnostic.source:
        message += f" (source: {diagnostic.source})"
    return f"::{_COMMAND[diagnostic.severity]} {','.join(properties)}::{_data(message)}"


def render(result: LintResult, options: ReportOptions) -> str:
    # A run-level notice ("no YAML files under X": a workflow linting the wrong path) is a warning without a file.
    notices = [f"::warning title={_property('sdmspec lint')}::{_data(notice)}\n" for notice in options.notices]
    return "".join(notices) + "".join(annotation(diagnostic) + "\n" for diagnostic in result.diagnostics)
