"""Issue 23: lint and --fix on hostile YAML never raise (a small budget here; ``benchmarks/fuzz_hostile.py`` runs
the same property for as long as one likes)."""

from __future__ import annotations

from fuzz_lint_cases import check_lint_and_fix, hostile_configs
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mamba_sdm.spec import Spec


@settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.data_too_large],
)
@given(data=st.data())
def test_lint_and_fix_never_raise_on_hostile_yaml(spec: Spec, data: st.DataObject) -> None:
    check_lint_and_fix(data.draw(hostile_configs(spec)), spec)
