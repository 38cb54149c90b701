"""Issue 23: verify-sparsity's readers on mutated safetensors and torch ZIP bytes either read or refuse in one line
(a small budget here; ``benchmarks/fuzz_hostile.py`` runs the same property for longer)."""

from __future__ import annotations

import tempfile
from pathlib import Path

from fuzz_checkpoint_cases import check_reader, mutated_checkpoints
from hypothesis import HealthCheck, given, settings

from mamba_sdm.spec import Spec


@settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(case=mutated_checkpoints())
def test_mutated_checkpoints_read_or_refuse_in_one_line(spec: Spec, case: tuple[str, bytes]) -> None:
    name, data = case
    with tempfile.TemporaryDirectory() as folder:
        check_reader(Path(folder), name, data, spec.sparsity)
