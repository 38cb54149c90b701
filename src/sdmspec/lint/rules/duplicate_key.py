"""SDM104 duplicate-key: the same key twice in one mapping; reported at the later one.

What: two keys of a mapping that PyYAML loads as the same key: the same text, or different spellings of one value
(`yes` and `true`, `1` and `0x1`).

Why: `yaml.safe_load` keeps the last value silently; YAML 1.2 forbids duplicates and stricter loaders (ruamel.yaml)
refuse the file. Either a value the author thinks is set is not, or two readers disagree.

Example::

    pretrain:
      batch_size: 128
      batch_size: 24     # <- reported here; PyYAML keeps 24

Fix: none; delete the key that is wrong.
"""

from __future__ import annotations

from collections.abc import Iterator

from yaml.nodes import ScalarNode

from sdmspec.lint.diagnostics import Finding, Severity
from sdmspec.lint.project import MERGE_TAG, Project
from sdmspec.lint.rules._helpers import at
from sdmspec.lint.values import STR_TAG, received

CODE = "SDM104"
NAME = "duplicate-key"
SEVERITY = Severity.ERROR


def check(project: Project) -> Iterator[Finding]:
    loader = project.loader
    for file in project.files:
        for mapping in file.source.mappings:
            seen: dict[object, ScalarNode] = {}
            for key, _ in mapping.value:
                if not isinstance(key, ScalarNode) or key.tag == MERGE_TAG:
                    continue
                # Most keys are strings: compare their text; others by the value PyYAML gives (`yes` is `true`).
                value = key.value if key.tag == STR_TAG else received(key)
                identity = (type(value), value) if isinstance(value, int | float | bool | str | None) else key.value
                first = seen.setdefault(identity, key)
                if first is not key:
                    line = file.source.span(first).line
                    if loader.refuses_duplicate_keys and key.tag == STR_TAG:
                        outcome = f"{loader.program} refuses the file"
                    else:
                        outcome = f"{loader.program} keeps only this one"
                    message = f"duplicate key {key.value!r} (first on line {line}): {outcome}"
                    yield at(file, key, message, actual=key.value)
