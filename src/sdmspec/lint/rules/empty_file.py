"""SDM005 empty-file: the file holds no settings (it is empty, or only comments, or only `---`).

What: a file whose documents are all empty (null).

Why: harmless for the jobs (`yaml.safe_load` returns None and they skip the file), but an empty config is usually a
file that lost its content or a placeholder; worth knowing, never an error.

Example: a `configs/finetune.yaml` of zero bytes.

Fix: none; fill the file or delete it.
"""

from __future__ import annotations

from collections.abc import Iterator

from yaml.nodes import ScalarNode

from sdmspec.lint.diagnostics import Finding, Severity
from sdmspec.lint.project import Project
from sdmspec.lint.values import NULL_TAG

CODE = "SDM005"
NAME = "empty-file"
SEVERITY = Severity.INFO


def check(project: Project) -> Iterator[Finding]:
    for file in project.files:
        source = file.source
        if source.problems:
            continue
        if all(isinstance(document, ScalarNode) and document.tag == NULL_TAG for document in source.documents):
            yield Finding(file.path, None, "the file holds no settings (empty)")
