"""Run ``sdmspec`` in this process (``main``, its one error handler included) and capture what a user would see."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from sdmspec.cli.app import main

REPO = Path(__file__).resolve().parents[2]
SPEC = REPO / "spec"


@dataclass(frozen=True)
class Ran:
    code: int
    out: str
    err: str

    @property
    def err_lines(self) -> list[str]:
        return [line for line in self.err.splitlines() if line.strip()]


def sdmspec(capsys: pytest.CaptureFixture[str], *args: str) -> Ran:
    """``sdmspec ARGS`` through ``main``: its exit code, stdout and stderr."""
    capsys.readouterr()
    with pytest.raises(SystemExit) as stopped:
        main(list(args))
    captured = capsys.readouterr()
    code = stopped.value.code
    return Ran(code if isinstance(code, int) else (0 if code is None else 1), captured.out, captured.err)


def assert_one_line(ran: Ran, code: int, *words: str) -> None:
    """Exit ``code`` with exactly one line on stderr, holding each of ``words``, and no traceback."""
    assert ran.code == code, ran
    assert len(ran.err_lines) == 1, ran.err
    assert "Traceback" not in ran.err
    for word in words:
        assert word in ran.err, (word, ran.err)


def make_repo(root: Path) -> Path:
    """A repository (a ``.git`` folder) with a ``configs/`` folder: what lint runs on in CI."""
    (root / ".git").mkdir(parents=True)
    (root / "configs").mkdir()
    return root
