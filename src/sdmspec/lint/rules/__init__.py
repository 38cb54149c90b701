"""The rules, one per module, and their registry.

Codes are ``SDM`` plus three digits, banded by concern:

* ``SDM0xx`` input: the file cannot be read as one YAML mapping (syntax, encoding, binary, shape, aliases, tags);
  ``SDM000``: the spec itself does not load;
* ``SDM1xx`` YAML 1.1 pitfalls: what the program's loader (``yaml.safe_load``, ``OmegaConf.load``) hands it differs
  from what the author wrote; each rule runs only where that loader has the pitfall;
* ``SDM2xx`` the paper's values: a value differs from the paper, is not given by it, or is set by no config, or the
  spec does not quote the paper yet (a TODO source);
* ``SDM3xx`` structure and types: unknown keys and sections, wrong types;
* ``SDM4xx`` across fields and files: conflicting values, ``divides`` rules;
* ``SDM9xx`` the suppressions themselves.

Each module has ``CODE``, ``NAME`` (kebab-case), ``SEVERITY`` (the default), a ``check(project)`` generator of
findings, and its docstring, which is the rule's documentation (`sdmspec lint --explain CODE`, SARIF help text).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

from sdmspec.lint.diagnostics import Finding, Severity
from sdmspec.lint.project import Project
from sdmspec.lint.rules import (
    alias_bomb,
    binary_file,
    command_line_value,
    compose_error,
    conflicting_values,
    duplicate_key,
    empty_file,
    float_as_string,
    hydra_plugin_missing,
    invalid_spec,
    mandatory_missing,
    missing_setting,
    mistyped_number,
    multi_document,
    not_a_mapping,
    not_divisible,
    not_utf8,
    octal_number,
    outside_repository,
    quoted_number,
    runtime_value,
    sexagesimal_number,
    suppression_without_reason,
    todo_source,
    too_deep,
    too_large,
    unknown_key,
    unknown_section,
    unquoted_version,
    unresolved_interpolation,
    unspecified_value,
    unsupported_tag,
    unused_suppression,
    value_mismatch,
    wrong_type,
    yaml11_boolean,
    yaml_syntax_error,
)


class Rule(Protocol):
    """What a rule module provides (modules satisfy this protocol structurally)."""

    @property
    def CODE(self) -> str: ...  # noqa: N802 - module constants, read through the protocol

    @property
    def NAME(self) -> str: ...  # noqa: N802

    @property
    def SEVERITY(self) -> Severity: ...  # noqa: N802

    @property
    def __doc__(self) -> str | None: ...  # type: ignore[override]

    def check(self, project: Project) -> Iterator[Finding]: ...


RULES: dict[str, Rule] = {
    "SDM000": invalid_spec,
    "SDM001": yaml_syntax_error,
    "SDM002": not_utf8,
    "SDM003": binary_file,
    "SDM004": not_a_mapping,
    "SDM005": empty_file,
    "SDM006": multi_document,
    "SDM007": alias_bomb,
    "SDM008": too_deep,
    "SDM009": unsupported_tag,
    "SDM010": compose_error,
    "SDM011": hydra_plugin_missing,
    "SDM012": outside_repository,
    "SDM013": too_large,
    "SDM101": float_as_string,
    "SDM102": unquoted_version,
    "SDM103": yaml11_boolean,
    "SDM104": duplicate_key,
    "SDM105": quoted_number,
    "SDM106": octal_number,
    "SDM107": sexagesimal_number,
    "SDM108": mistyped_number,
    "SDM201": value_mismatch,
    "SDM202": unspecified_value,
    "SDM203": missing_setting,
    "SDM204": todo_source,
    "SDM205": runtime_value,
    "SDM206": mandatory_missing,
    "SDM207": unresolved_interpolation,
    "SDM208": command_line_value,
    "SDM301": unknown_key,
    "SDM302": unknown_section,
    "SDM303": wrong_type,
    "SDM401": conflicting_values,
    "SDM402": not_divisible,
    "SDM901": suppression_without_reason,
    "SDM902": unused_suppression,
}
UNUSED_SUPPRESSION = unused_suppression


def rule_summary(rule: Rule) -> str:
    """The first line of a rule's documentation, without its ``CODE name:`` prefix."""
    first = (rule.__doc__ or "").strip().splitlines()[0] if rule.__doc__ else rule.NAME
    return first.split(":", 1)[1].strip() if ":" in first else first


def rule_help(rule: Rule) -> str:
    """A rule's full documentation (its docstring, dedented)."""
    import inspect

    return inspect.cleandoc(rule.__doc__ or "")
