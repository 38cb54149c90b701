"""JSON output: a stable contract for scripts and CI.

``{"diagnostics": [{"code", "name", "severity", "file", "line", "column", "key", "expected", "actual", "message",
"source", "fixable", "spec_location", ...}], "summary": {"files", "errors", "warnings", ...}, "notices": [...]}``.
``notices`` are run-level messages that are not findings ("no YAML files under X", with ``files`` 0). Fields may be
added, never removed or renamed; ``file``/``line``/``column`` are null for findings about the configs as a whole, whose
``spec_location`` (``{"file", "line", "column"}``) says where the spec defines the setting, when its files were found
(null otherwise, and for every other finding).
"""

from __future__ import annotations

import json

from sdmspec.lint.diagnostics import Diagnostic, Location
from sdmspec.lint.engine import LintResult
from sdmspec.report import ReportOptions


def diagnostic_json(diagnostic: Diagnostic) -> dict[str, object]:
    fix = diagnostic.fix
    return {
        "code": diagnostic.code,
        "name": diagnostic.name,
        "severity": diagnostic.severity.value,
        "file": diagnostic.file,
        "line": diagnostic.line,
        "column": diagnostic.column,
        "end_line": diagnostic.end_line,
        "end_column": diagnostic.end_column,
        "key": diagnostic.key,
        "expected": diagnostic.expected,
        "actual": diagnostic.actual,
        "message": diagnostic.message,
        "source": diagnostic.source,
        "fixable": diagnostic.fixable,
        "fix": None
        if fix is None
        else {
            "message": fix.message,
            "applicability": fix.applicability.value,
            "edits": [
                {
                    "content": edit.content,
                    "location": {"line": edit.span.line, "column": edit.span.column},
                    "end_location": {"line": edit.span.end_line, "column": edit.span.end_column},
                }
                for edit in fix.edits
            ],
        },
        "related": [_location(r) for r in diagnostic.related],
        "spec_location": None if diagnostic.spec_location is None else _location(diagnostic.spec_location),
    }


def _location(location: Location) -> dict[str, object]:
    return {"file": location.file, "line": location.line, "column": location.column}


def render(result: LintResult, options: ReportOptions) -> str:
    document = {
        "diagnostics": [diagnostic_json(diagnostic) for diagnostic in result.diagnostics],
        "summary": {
            "files": result.files,
            "errors": result.errors,
            "warnings": result.warnings,
            "infos": result.infos,
            "fixable": result.fixable(unsafe=options.unsafe_fixes),
            "fixed": options.fixed,
            "loader": result.loader,
        },
        "notices": list(options.notices),
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
