"""Which signals stop a job: the default three, a list from SDMSPEC_STOP_SIGNALS, and a bad name refused."""

from __future__ import annotations

import signal

import pytest

from mamba_sdm.jobs.stop import STOP_SIGNALS_ENV, StopRequest, stop_signals
from sdmspec.errors import JobError


def test_the_default_and_a_configured_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(STOP_SIGNALS_ENV, raising=False)
    assert stop_signals() == [signal.SIGTERM, signal.SIGINT, signal.SIGUSR1]
    monkeypatch.setenv(STOP_SIGNALS_ENV, "term, SIGUSR2")
    assert stop_signals() == [signal.SIGTERM, signal.SIGUSR2]
    monkeypatch.setenv(STOP_SIGNALS_ENV, "TERM,NOPE")
    with pytest.raises(JobError, match="'NOPE' is not a signal name"):
        stop_signals()


def test_handlers_are_installed_for_the_block_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(STOP_SIGNALS_ENV, "USR2")
    before = signal.getsignal(signal.SIGUSR2)
    with StopRequest("job") as stop:
        assert signal.getsignal(signal.SIGUSR2) != before
        signal.raise_signal(signal.SIGUSR2)
        assert stop.received == "SIGUSR2" and stop.flag == 1.0
    assert signal.getsignal(signal.SIGUSR2) == before
