"""SDM006 multi-document: the file holds more than one YAML document (`---` separators).

What: a stream of two or more documents; reported at the start of the second one.

Why: `yaml.safe_load` refuses a stream of several documents (ComposerError "expected a single document"), so the
job that reads the file cannot start. Lint still checks the settings of every document.

Example::

    training: {pretrain: {batch_size: 128}}
    ---
    training: {pretrain: {max_epochs: 20}}

Fix: none; merge the documents or split them into files.
"""

from __future__ import annotations

from collections.abc import Iterator

from sdmspec.lint.diagnostics import Finding, Severity
from sdmspec.lint.project import Project
from sdmspec.lint.rules._helpers import at

CODE = "SDM006"
NAME = "multi-document"
SEVERITY = Severity.ERROR


def check(project: Project) -> Iterator[Finding]:
    for file in project.files:
        documents = file.source.documents
        if len(documents) > 1:
            message = f"{len(documents)} YAML documents in one file: yaml.safe_load accepts exactly one"
            yield at(file, documents[1], message)
