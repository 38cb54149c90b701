"""Keep third-party output out of a command's own output: it goes to a log file instead.

``sdmspec validate``'s checks and ``sdmspec profile``'s traces run transformers, datasets, torch.profiler and fvcore,
which talk: transformers' kernel-fallback ``warning_once`` messages, Python warnings, ``print`` calls, and C++ lines
written straight to file descriptors 1 and 2 (torch.profiler's Kineto ``profiler_start``/``profiler_stop``). A
command's output is its report, so while such code runs, every route is pointed at one log file:

* file descriptors 1 and 2 (``os.dup2``), for C and C++ output;
* ``sys.stdout``/``sys.stderr``, for Python prints, warnings and logging's last-resort handler;
* logging handlers already writing to the standard streams (a library configured before the checks).

A library that keeps a reference to ``sys.stderr`` taken during the checks (transformers creates its logging handler
on first use) holds a :class:`_Switch`, which writes to the stream it replaced once the capture has ended.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from sdmspec.errors import SdmspecError


def default_log_path() -> Path:
    """``$XDG_CACHE_HOME/sdmspec/validate.log`` (``~/.cache/sdmspec/validate.log``), rewritten by every run."""
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "sdmspec" / "validate.log"


@dataclass
class CapturedOutput:
    """Where the third-party output went, and how many non-empty lines it made (known once the capture ended)."""

    path: Path
    lines: int = 0


class _Switch(io.TextIOBase):
    """A stand-in for a standard stream: the log while the capture is active, the replaced stream afterwards."""

    def __init__(self, log: TextIO, original: TextIO) -> None:
        super().__init__()
        self._log = log
        self._original = original
        self.active = True

    @property
    def _target(self) -> TextIO:
        return self._log if self.active else self._original

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return self._target.encoding

    def write(self, text: str) -> int:
        written = self._target.write(text)
        if self.active:
            self._log.flush()  # keep Python's and the file descriptors' writes in order in the log
        return written

    def flush(self) -> None:
        self._target.flush()

    def fileno(self) -> int:
        return self._target.fileno()

    def isatty(self) -> bool:
        return False if self.active else self._original.isatty()

    def writable(self) -> bool:
        return True


def _flush_c_streams() -> None:
    """Flush C stdio buffers (a C library's printf) so nothing buffered lands after the descriptors are restored."""
    with contextlib.suppress(Exception):
        import ctypes

        ctypes.CDLL(None).fflush(None)


def _redirect_fds(target: int) -> list[tuple[int, int]]:
    saved = []
    for fd in (1, 2):
        try:
            copy = os.dup(fd)
        except OSError:
            continue  # no such descriptor (a daemon): nothing can be written to it either
        os.dup2(target, fd)
        saved.append((fd, copy))
    return saved


def _restore_fds(saved: list[tuple[int, int]]) -> None:
    for fd, copy in saved:
        os.dup2(copy, fd)
        os.close(copy)


def _repoint_handlers(streams: dict[int, _Switch]) -> list[tuple[logging.StreamHandler[TextIO], TextIO]]:
    """Point logging handlers that write to a standard stream at its switch; return what to restore."""
    loggers = [
        logging.getLogger(),
        *(v for v in logging.Logger.manager.loggerDict.values() if isinstance(v, logging.Logger)),
    ]
    changed: list[tuple[logging.StreamHandler[TextIO], TextIO]] = []
    for logger in loggers:
        for handler in logger.handlers:
            if isinstance(handler, logging.FileHandler) or not isinstance(handler, logging.StreamHandler):
                continue
            switch, previous = streams.get(id(handler.stream)), handler.stream
            if switch is None:
                continue
            try:
                handler.setStream(switch)
            except AttributeError:  # `stream` is a read-only property (logging's _StderrHandler reads sys.stderr)
                continue
            changed.append((handler, previous))
    return changed


@contextlib.contextmanager
def capture_output(path: Path, *, append: bool = False) -> Iterator[CapturedOutput]:
    """Send everything written to stdout and stderr (Python, logging, C) to ``path`` while the block runs
    (``append``: after what the file holds, for one log over several blocks)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        log = path.open("a" if append else "w", encoding="utf-8", errors="replace")
    except OSError as err:
        raise SdmspecError(f"cannot write the log {path}: {err.strerror or err}") from err
    captured = CapturedOutput(path)
    original_out, original_err = sys.stdout, sys.stderr
    switch_out, switch_err = _Switch(log, original_out), _Switch(log, original_err)
    streams = {id(original_out): switch_out, id(original_err): switch_err}
    for underlying, switch in ((sys.__stdout__, switch_out), (sys.__stderr__, switch_err)):
        if underlying is not None:
            streams.setdefault(id(underlying), switch)
    with log:
        for standard in (original_out, original_err):
            with contextlib.suppress(Exception):
                standard.flush()
        _flush_c_streams()
        saved = _redirect_fds(log.fileno())
        handlers = _repoint_handlers(streams)
        sys.stdout, sys.stderr = switch_out, switch_err
        try:
            yield captured
        finally:
            with contextlib.suppress(Exception):
                switch_out.flush()
                switch_err.flush()
            _flush_c_streams()
            _restore_fds(saved)
            sys.stdout, sys.stderr = original_out, original_err
            switch_out.active = switch_err.active = False
            for handler, previous in handlers:
                handler.setStream(previous)
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        text = ""
    captured.lines = sum(1 for line in text.splitlines() if line.strip())
