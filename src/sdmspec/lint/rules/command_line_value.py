"""SDM208 command-line-value: `???`, a value OmegaConf requires from the command line (information).

What: under the `omegaconf` loader, a value written `???` (OmegaConf's MISSING). The config deliberately leaves it
open: the program fails when it reads the value unless the command line sets it (`python train.py ckpt_path=...`).

Why: a value no config gives cannot be checked against the paper; a reader of the configs should know which values
come from the command line. Reported once per value, never also as a wrong type or a missing setting.

Example::

    ckpt_path: ???    # must be given: python eval.py ckpt_path=/path/to/last.ckpt

Fix: none needed.
"""

from __future__ import annotations

from collections.abc import Iterator

from sdmspec.lint.diagnostics import Finding, Severity
from sdmspec.lint.loaders import Deferred
from sdmspec.lint.project import Project
from sdmspec.lint.rules._helpers import at
from sdmspec.lint.values import deferred

CODE = "SDM208"
NAME = "command-line-value"
SEVERITY = Severity.INFO


def check(project: Project) -> Iterator[Finding]:
    loader = project.loader
    for file in project.files:
        keys = {id(value): key for mapping in file.source.mappings for key, value in mapping.value}
        for node, is_key in file.source.scalars:
            if is_key or deferred(node, loader) is not Deferred.MISSING:
                continue
            key = keys.get(id(node))
            name = getattr(key, "value", None)
            where = f"{name} " if isinstance(name, str) else ""
            message = f"{where}is ??? ({loader.program}: MISSING): the command line must set it, or the program fails"
            occurrence = file.occurrence_of(node)
            yield at(file, node, message, key=occurrence.key if occurrence else None, actual="???")
