"""Markdown helpers of the setup document: tables, and sources with assumptions flagged."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

ASSUMPTION = "**assumption**"


def cell(value: object) -> str:
    text = "" if value is None else str(value)
    return text.replace("|", "\\|").replace("\n", " ")


def table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> list[str]:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines.extend("| " + " | ".join(cell(value) for value in row) + " |" for row in rows)
    return [*lines, ""]


def is_assumption(source: str) -> bool:
    return source.strip().lower().startswith("assumption")


def without_prefix(source: str) -> str:
    text = source.strip()
    return text[len("assumption") :].lstrip(" :") if is_assumption(text) else text


def sourced(source: str) -> str:
    """The source as shown: an assumption is flagged in bold (once, however the spec spells the prefix)."""
    return f"{ASSUMPTION}: {without_prefix(source)}" if is_assumption(source) else source.strip()
