"""SDM004 not-a-mapping: a document is a list or a scalar, not a mapping of settings.

What: the top level of a document is a sequence (`- a`) or a single scalar.

Why: a config holds settings by key path, so its top level must be a mapping. The jobs read configs with
`yaml.safe_load` and skip documents that are not mappings: every setting in such a file is silently ignored, so no
job can read it. An error (exit 1), not a warning: the file cannot configure anything as written.

Example::

    - batch_size: 128
    - max_epochs: 20

Fix: none; write the settings as a mapping (`training: {pretrain: {batch_size: 128}}`).
"""

from __future__ import annotations

from collections.abc import Iterator

from yaml.nodes import MappingNode, ScalarNode, SequenceNode

from sdmspec.lint.diagnostics import Finding, Severity
from sdmspec.lint.project import Project
from sdmspec.lint.rules._helpers import at
from sdmspec.lint.values import NULL_TAG, describe, received

CODE = "SDM004"
NAME = "not-a-mapping"
SEVERITY = Severity.ERROR


def check(project: Project) -> Iterator[Finding]:
    for file in project.files:
        for document in file.source.documents:
            if isinstance(document, MappingNode) or (isinstance(document, ScalarNode) and document.tag == NULL_TAG):
                continue
            if isinstance(document, SequenceNode) and project.loader.top_level_lists:
                continue  # OmegaConf reads a list as a ListConfig (a Hydra group file may be one)
            what = describe(received(document)) if isinstance(document, ScalarNode) else "a list"
            yield at(file, document, f"the document is {what}, not a mapping of settings: the jobs ignore it")
