"""Production code carries no test hooks: faults are injected by tests/fault_injection.py from outside."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

SOURCE = Path(__file__).resolve().parents[2] / "src" / "sdmspec"


def test_no_module_reads_a_test_variable() -> None:
    hooks = [
        f"{path.relative_to(SOURCE)}:{number}"
        for path in sorted(SOURCE.rglob("*.py"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if re.search(r"SDMSPEC_(TEST|FAULT)_", line)
    ]
    assert hooks == []


@pytest.mark.train
def test_the_fault_hooks_reach_a_child_process(tmp_path: Path) -> None:
    """The sitecustomize the tests put on PYTHONPATH installs the faults in a fresh interpreter (the injection the
    crash, stop and NaN tests rely on)."""
    import subprocess
    import sys

    from fault_injection import environment

    probe = "import mamba_sdm.jobs.loop as loop; print(loop.Trainer.run_step.__module__)"
    env = {**environment(crash_after=3), "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "fault_injection"
    plain = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert plain.stdout.strip() == "mamba_sdm.jobs.loop"
