"""`sdmspec validate` prints its report only: the libraries' chatter goes to a log (named in the footer) or, with
--verbose, to the terminal."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from sdmspec.capture import capture_output, default_log_path
from sdmspec.errors import SdmspecError
from sdmspec_cli import run_sdmspec

# What the libraries print while the profiling check runs, when they do: transformers' kernel-fallback warning_once
# (the reference scan without mamba_ssm/causal_conv1d), torch.profiler's Kineto lines (C++, straight to fd 2).
FALLBACK = "is falling back to its reference PyTorch implementation"
CHATTER = (FALLBACK, "profiler_start", "profiler_stop", "USDT:", "[transformers]")


def _validate(*args: str) -> subprocess.CompletedProcess[str]:
    return run_sdmspec("validate", "--check", "profiling", *args, env={"COLUMNS": "200"})


@pytest.fixture(scope="module")
def quiet(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess[str], Path]:
    log = tmp_path_factory.mktemp("validate") / "validate.log"
    return _validate("--log", str(log)), log


@pytest.mark.train  # the profiling check builds the model
def test_the_output_is_the_report_and_the_log_has_the_chatter(
    quiet: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    done, log = quiet
    assert done.returncode == 0, done.stdout + done.stderr
    for marker in CHATTER:
        assert marker not in done.stdout and marker not in done.stderr
    assert done.stderr == ""
    assert "Experimental setup validation" in done.stdout and "no check failed" in done.stdout
    lines = [line for line in log.read_text().splitlines() if line.strip()]
    assert lines, "the profiling check printed nothing here: nothing to keep out of the report"
    assert any(marker in line for line in lines for marker in CHATTER)
    # The footer (the last line) says where the chatter went, how much, and how to see it.
    footer = done.stdout.rstrip().splitlines()[-1]
    assert str(log) in footer and f"({len(lines)} line(s))" in footer and "--verbose" in footer


@pytest.mark.train  # the profiling check builds the model
def test_verbose_lets_the_chatter_through_and_writes_no_log(
    quiet: tuple[subprocess.CompletedProcess[str], Path], tmp_path: Path
) -> None:
    log = tmp_path / "validate.log"
    done = _validate("--verbose", "--log", str(log))
    assert done.returncode == 0, done.stdout + done.stderr
    assert any(marker in done.stderr for marker in CHATTER)  # on the terminal this time, as they come
    assert quiet[1].read_text().strip()  # (the quiet run logged messages of the same kind)
    assert "went to" not in done.stdout
    assert not log.exists()


def test_json_is_one_document_that_names_the_log(tmp_path: Path) -> None:
    log = tmp_path / "validate.log"
    done = _validate("--format", "json", "--log", str(log))
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)  # nothing but the document on stdout
    assert document["log"]["path"] == str(log)
    assert document["log"]["lines"] == sum(1 for line in log.read_text().splitlines() if line.strip())
    assert done.stderr == ""


def test_an_unwritable_log_is_a_usage_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    done = _validate("--log", str(blocker / "validate.log"))
    assert done.returncode == 2
    assert done.stderr.startswith("sdmspec: error: cannot write the log ") and len(done.stderr.splitlines()) == 1


def test_capture_catches_python_logging_warnings_and_file_descriptors(tmp_path: Path) -> None:
    log = tmp_path / "chatter.log"
    library = logging.getLogger("sdmspec_test_library")
    early = logging.StreamHandler(sys.stderr)  # a library configured before the checks
    library.addHandler(early)
    try:
        with capture_output(log) as captured:
            print("a print from a library")
            library.warning("an early handler's warning")
            late = logging.StreamHandler()  # created during the checks, as transformers does on first use
            library.addHandler(late)
            os.write(1, b"C-level stdout\n")
            os.write(2, b"C-level stderr\n")
        library.removeHandler(late)
        late.flush()
    finally:
        library.removeHandler(early)
    text = log.read_text()
    for expected in ("a print from a library", "C-level stdout", "C-level stderr"):
        assert expected in text
    assert text.count("an early handler's warning") >= 1
    assert captured.path == log and captured.lines == sum(1 for line in text.splitlines() if line.strip())
    assert early.stream is sys.stderr  # restored
    print("after the capture")  # reaches the real stdout again, not the closed log
    assert "after the capture" not in log.read_text()


_IN_A_PROCESS = """
import ctypes, sys, warnings
from pathlib import Path
from sdmspec.capture import capture_output
with capture_output(Path(sys.argv[1])) as captured:
    warnings.warn("a library warning", UserWarning)
    ctypes.CDLL(None).printf(b"printf from C, buffered\\n")
print("report", captured.lines)
"""


def test_capture_catches_warnings_and_buffered_c_output_in_a_real_process(tmp_path: Path) -> None:
    # Outside pytest's own capture: the default warnings display and libc's stdout buffer, as in `sdmspec validate`.
    log = tmp_path / "chatter.log"
    done = subprocess.run(
        [sys.executable, "-c", _IN_A_PROCESS, str(log)], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    text = log.read_text()
    assert done.stdout == f"report {sum(1 for line in text.splitlines() if line.strip())}\n" and done.stderr == ""
    assert "UserWarning: a library warning" in text and "printf from C, buffered" in text


def test_a_handler_created_during_the_capture_writes_to_the_terminal_afterwards(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    library = logging.getLogger("sdmspec_test_late")
    with capture_output(tmp_path / "chatter.log"):
        late = logging.StreamHandler()  # holds the capture's stand-in for sys.stderr
        library.addHandler(late)
    try:
        library.warning("logged after the capture")
    finally:
        library.removeHandler(late)
    assert "logged after the capture" in capsys.readouterr().err
    assert "logged after the capture" not in (tmp_path / "chatter.log").read_text()


def test_capture_restores_the_streams_when_a_check_raises(tmp_path: Path) -> None:
    before = (sys.stdout, sys.stderr)
    with pytest.raises(SdmspecError, match="boom"), capture_output(tmp_path / "chatter.log"):
        raise SdmspecError("boom")
    assert (sys.stdout, sys.stderr) == before


def test_default_log_is_in_the_user_cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert default_log_path() == tmp_path / "sdmspec" / "validate.log"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert default_log_path() == Path.home() / ".cache" / "sdmspec" / "validate.log"
