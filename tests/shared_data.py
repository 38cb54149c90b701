"""Data the tests take from ``../shared`` beside the clone: the YAML test suite and the SARIF 2.1.0 schema.

CI has that folder; a user's clone does not. A test that needs it runs every assertion it can first and skips, with
the path it looked for, only where the data itself is needed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

SHARED = Path(__file__).resolve().parents[2] / "shared"
YAML_TEST_SUITE = SHARED / "yaml-test-suite" / "cases"
SARIF_SCHEMA = SHARED / "schemas" / "sarif-schema-2.1.0.json"
# Config folders of five public ML repositories, copied unchanged (see its README).
REALWORLD = SHARED / "realworld"


def shared_path(path: Path) -> Path:
    """``path`` under ../shared, or skip the test saying what is missing (a user's clone has no ../shared)."""
    if not path.exists():
        pytest.skip(f"needs ../{path.relative_to(SHARED.parent)} beside the clone (CI has it; a user's clone does not)")
    return path


def validate_sarif(log: dict[str, Any]) -> None:
    """Validate a SARIF log against the OASIS 2.1.0 schema; call it last, since it skips where the schema is absent."""
    import jsonschema

    schema = json.loads(shared_path(SARIF_SCHEMA).read_text(encoding="utf-8"))
    jsonschema.validate(log, schema)
