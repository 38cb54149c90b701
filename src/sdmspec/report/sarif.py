"""SARIF 2.1.0 output, for code-scanning uploads (GitHub, GitLab, Azure DevOps) and SARIF viewers.

One run whose driver lists every rule (id, name, short description, and the rule's documentation as help), and one
result per diagnostic with its region in Unicode code points (``columnKind``), related locations for cross-file
findings, and fixes as artifact changes. Every result has a physical location, as code scanning requires: findings
about the configs as a whole (a setting no config sets) are placed on the spec line that defines the setting, or,
when the spec's files were not found, on the folder holding the linted configs. Run-level notices ("no YAML files
under X", a run with no results) are the invocation's tool execution notifications.
"""

from __future__ import annotations

import json
from pathlib import Path

from sdmspec import __version__
from sdmspec.lint.diagnostics import Diagnostic, Severity, Span
from sdmspec.lint.engine import LintResult
from sdmspec.lint.rules import RULES, rule_help, rule_summary
from sdmspec.report import ReportOptions

SCHEMA_URI = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
_LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}


def _uri(path: str) -> str:
    candidate = Path(path)
    if candidate.is_absolute():
        try:
            candidate = candidate.relative_to(Path.cwd())
        except ValueError:
            return candidate.as_uri()
    return candidate.as_posix()


def _region(line: int, column: int, end_line: int | None = None, end_column: int | None = None) -> dict[str, int]:
    region = {"startLine": line, "startColumn": column}
    if end_line is not None and end_column is not None:
        region |= {"endLine": end_line, "endColumn": end_column}
    return region


def _rules() -> list[dict[str, object]]:
    return [
        {
            "id": code,
            "name": rule.NAME,
            "shortDescription": {"text": rule_summary(rule)},
            "fullDescription": {"text": rule_help(rule).split("\n\n")[1] if "\n\n" in rule_help(rule) else ""},
            "help": {"text": rule_help(rule), "markdown": rule_help(rule)},
            "defaultConfiguration": {"level": _LEVEL[rule.SEVERITY]},
            "properties": {"tags": [code[:4] + "xx"]},
        }
        for code, rule in RULES.items()
    ]


def _replacement(span: Span, content: str) -> dict[str, object]:
    return {
        "deletedRegion": _region(span.line, span.column, span.end_line, span.end_column),
        "insertedContent": {"text": content},
    }


def _locations(diagnostic: Diagnostic, root: str | None) -> list[dict[str, object]]:
    if diagnostic.file is not None:
        physical: dict[str, object] = {"artifactLocation": {"uri": _uri(diagnostic.file)}}
        if diagnostic.line is not None and diagnostic.column is not None:
            physical["region"] = _region(diagnostic.line, diagnostic.column, diagnostic.end_line, diagnostic.end_column)
        return [{"physicalLocation": physical}]
    if (anchor := diagnostic.spec_location) is not None:
        physical = {"artifactLocation": {"uri": _uri(anchor.file)}, "region": _region(anchor.line, anchor.column)}
        return [{"physicalLocation": physical, "message": {"text": "the setting's definition in the spec"}}]
    if root is not None:
        # A folder's URI ends with a slash (RFC 3986 relative reference); no region: the finding is about all of it.
        folder = _uri(root).rstrip("/") + "/"
        return [{"physicalLocation": {"artifactLocation": {"uri": folder}}, "message": {"text": "the configs"}}]
    return []


def _result(diagnostic: Diagnostic, index: dict[str, int], root: str | None) -> dict[str, object]:
    result: dict[str, object] = {
        "ruleId": diagnostic.code,
        "ruleIndex": index[diagnostic.code],
        "level": _LEVEL[diagnostic.severity],
        "message": {"text": diagnostic.message},
        "properties": {
            "name": diagnostic.name,
            "key": diagnostic.key,
            "expected": diagnostic.expected,
            "actual": diagnostic.actual,
            "source": diagnostic.source,
        },
    }
    if locations := _locations(diagnostic, root):
        result["locations"] = locations
    if diagnostic.related:
        result["relatedLocations"] = [
            {
                "id": number,
                "physicalLocation": {
                    "artifactLocation": {"uri": _uri(related.file)},
                    "region": _region(related.line, related.column),
                },
                "message": {"text": "the other value"},
            }
            for number, related in enumerate(diagnostic.related)
        ]
    if diagnostic.fix is not None and diagnostic.file is not None:
        result["fixes"] = [
            {
                "description": {"text": f"{diagnostic.fix.message} ({diagnostic.fix.applicability.value} fix)"},
                "artifactChanges": [
                    {
                        "artifactLocation": {"uri": _uri(diagnostic.file)},
                        "replacements": [_replacement(edit.span, edit.content) for edit in diagnostic.fix.edits],
                    }
                ],
            }
        ]
    return result


def _invocations(notices: tuple[str, ...]) -> list[dict[str, object]]:
    notifications = [{"level": "warning", "message": {"text": notice}} for notice in notices]
    return [{"executionSuccessful": True, "toolExecutionNotifications": notifications}]


def sarif_log(result: LintResult, notices: tuple[str, ...] = ()) -> dict[str, object]:
    """The SARIF log as a JSON-ready dict."""
    index = {code: number for number, code in enumerate(RULES)}
    run: dict[str, object] = {
        "tool": {
            "driver": {
                "name": "sdmspec",
                "version": __version__,
                "rules": _rules(),
            }
        },
        "columnKind": "unicodeCodePoints",
        # How the configs were read (yaml, omegaconf): what each value is depends on it.
        "properties": {"loader": result.loader},
        "results": [_result(diagnostic, index, result.root) for diagnostic in result.diagnostics],
    }
    if notices:
        run["invocations"] = _invocations(notices)
    return {"$schema": SCHEMA_URI, "version": "2.1.0", "runs": [run]}


def render(result: LintResult, options: ReportOptions) -> str:
    return json.dumps(sarif_log(result, options.notices), indent=2, ensure_ascii=False) + "\n"
