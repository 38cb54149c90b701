"""SDM000 invalid-spec: the spec itself (spec/*.yaml) does not load, so no config can be judged against it.

What: a problem in the spec's own files: YAML that does not parse, a key written twice, a section defined in two
files, an unknown key or section (with the closest known one), a value of the wrong type, a missing required key,
a rule or variant naming something the spec does not define. Every problem is reported in one run, at
`spec/FILE:LINE:COL`, with the path as written in the file (`config.training.pretrain.batch_size.ranges`,
`variants[2].method`) and what is expected there.

Why: lint judges configs by the spec; a spec that does not load would judge nothing. `sdmspec lint` reports these
problems in the chosen format (text, JSON, SARIF, GitHub) and exits 2 (unusable input), also when there is
nothing to lint; `sdmspec spec check` reports them the same way and exits 1.

Example::

    config:
      training:
        batch_size:
          type: int
          exact: 256
          ranges: [1, 512]  # unknown key 'ranges'; expected one of: ... (did you mean 'range'?)

Fix: none automatic; edit the spec.
"""

from __future__ import annotations

from collections.abc import Iterator

from sdmspec.lint.diagnostics import Finding, Severity
from sdmspec.lint.project import Project

CODE = "SDM000"
NAME = "invalid-spec"
SEVERITY = Severity.ERROR


def check(project: Project) -> Iterator[Finding]:
    # A project holds a spec that loaded: the problems of one that did not are reported by sdmspec.lint.spec_report.
    yield from ()
