"""SDM101 float-as-string: a number like `2e-4` that PyYAML reads as a *string*.

What: an unquoted scalar that YAML 1.2 (and every reader of the paper) takes for a float, but that PyYAML's YAML 1.1
resolver leaves a string: its floats need a dot *and* a signed exponent, so `2e-4`, `1e5`, `1.5e3` and `3E-4` are
strings while `2.0e-4` and `1.0e+5` are floats.

Why: `yaml.safe_load` hands the training script the string "2e-4": an optimizer that gets it raises, or worse, a
`float(...)` somewhere hides the problem in one code path and not in another. Validators that load YAML 1.2
(ruamel.yaml, check-jsonschema) read a float and miss it.

Value checks (SDM2xx) use the number the author meant, so `learning_rate: 2e-4` where the paper says 2e-4 is this
warning only, and `3e-4` where the paper says 1e-4 is this warning plus a value-mismatch error.

Example::

    learning_rate: 2e-4     # the string "2e-4"
    learning_rate: 2.0e-4   # the float 0.0002

Fix (safe where the spec expects a float; unsafe on keys the spec does not know, whose reader might want the
string): write the same number in a form PyYAML reads as a float, `2e-4` -> `2.0e-4`, `1e5` -> `1.0e+5`.
"""

from __future__ import annotations

from collections.abc import Iterator

from sdmspec.lint.diagnostics import Applicability, Finding, Severity
from sdmspec.lint.project import Project
from sdmspec.lint.rules._helpers import at, replace
from sdmspec.lint.values import STR_TAG, YAML12_FLOAT, is_plain, pyyaml_float_text
from sdmspec.schema import SettingType

CODE = "SDM101"
NAME = "float-as-string"
SEVERITY = Severity.WARNING


def check(project: Project) -> Iterator[Finding]:
    if not project.loader.yaml11_floats:
        return  # OmegaConf's resolver reads 2e-4 as the float it looks like: no pitfall there
    program = project.loader.program
    for file in project.files:
        for node, is_key in file.source.scalars:
            if is_key or node.tag != STR_TAG or not is_plain(node) or "e" not in node.value.lower():
                continue
            if YAML12_FLOAT.fullmatch(node.value) is None or (written := pyyaml_float_text(node.value)) is None:
                continue
            occurrence = file.occurrence_of(node)
            kind = occurrence.kind if occurrence else None
            if kind in (SettingType.STR, SettingType.VERSION, SettingType.BOOL):
                continue
            safe = kind is SettingType.FLOAT
            fix = None
            if kind in (None, SettingType.FLOAT):
                applicability = Applicability.SAFE if safe else Applicability.UNSAFE
                fix = replace(file, node, written, f"write {written}", applicability)
            message = f"{node.value} is the string {node.value!r} under {program} (YAML 1.1); write {written}"
            key = occurrence.key if occurrence else None
            yield at(file, node, message, key=key, expected=written, actual=node.value, fix=fix)
