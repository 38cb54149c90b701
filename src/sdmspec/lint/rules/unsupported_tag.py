"""SDM009 unsupported-tag: a node carries a tag `yaml.safe_load` has no constructor for, such as `!!python/object`.

What: any tag outside YAML's standard types (`!!str`, `!!int`, `!!float`, `!!bool`, `!!null`, `!!map`, `!!seq`,
`!!binary`, `!!timestamp`, `!!set`, `!!omap`, `!!pairs`): `!!python/object/apply:os.system`, `!custom`, ...

Why: `yaml.safe_load` raises ConstructorError on such a tag, so the job cannot read the file; under an unsafe loader
(`yaml.load(..., Loader=yaml.Loader)`, `yaml.unsafe_load`) a `!!python/...` tag builds arbitrary objects or runs
code. Lint only composes nodes: it never constructs what a tag names.

Example::

    learning_rate: !!python/object/apply:os.system ["rm -rf ~"]

Fix: none; remove the tag.
"""

from __future__ import annotations

from collections.abc import Iterator

from sdmspec.lint.diagnostics import Finding, Severity
from sdmspec.lint.project import Project
from sdmspec.lint.rules._helpers import at

CODE = "SDM009"
NAME = "unsupported-tag"
SEVERITY = Severity.ERROR

_PYTHON_TAG = "tag:yaml.org,2002:python/"


def check(project: Project) -> Iterator[Finding]:
    for file in project.files:
        for node in file.source.foreign_tags:
            tag = node.tag
            shown = "!!" + tag.removeprefix("tag:yaml.org,2002:") if tag.startswith("tag:yaml.org,2002:") else tag
            message = f"yaml.safe_load refuses the tag {shown} (ConstructorError)"
            if tag.startswith(_PYTHON_TAG):
                message += "; an unsafe loader would build Python objects or run code from it"
            yield at(file, node, message, actual=shown)
