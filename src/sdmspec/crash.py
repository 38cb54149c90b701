"""An unexpected error (a bug in sdmspec) as pre-commit reports one: one line naming a log file, the details in it.

The log holds what a bug report needs (version, Python, platform, the command line, the traceback) and is written
where pre-commit writes its own, under the user's cache folder (``$XDG_CACHE_HOME/sdmspec``, else
``~/.cache/sdmspec``), falling back to the temporary folder when that cannot be written (a read-only home in a
container). The file is created readable by its owner only: a traceback names paths, and CI logs are public.
"""

from __future__ import annotations

import os
import platform
import sys
import tempfile
import time
import traceback
from collections.abc import Sequence
from pathlib import Path

from sdmspec import __version__

ISSUES_HINT = "please report it with the log"


def crash_folders() -> list[Path]:
    """Where a crash log may go, in order of preference."""
    cache = os.environ.get("XDG_CACHE_HOME")
    base = Path(cache) if cache else Path("~").expanduser() / ".cache"
    return [base / "sdmspec", Path(tempfile.gettempdir())]


def _cwd() -> str:
    try:
        return str(Path.cwd())
    except OSError:  # the current folder was removed
        return "?"


def _report(err: BaseException, argv: Sequence[str]) -> str:
    details = "".join(traceback.format_exception(type(err), err, err.__traceback__))
    return (
        f"sdmspec {__version__}\n"
        f"python {sys.version.split()[0]} ({sys.executable})\n"
        f"platform {platform.platform()}\n"
        f"command sdmspec {' '.join(argv)}\n"
        f"cwd {_cwd()}\n\n"
        f"{details}"
    )


def write_crash_log(err: BaseException, argv: Sequence[str]) -> Path | None:
    """Write the details of ``err`` to a new log file and return its path (None when no folder takes it)."""
    text = _report(err, argv).encode("utf-8", errors="replace")
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for folder in crash_folders():
        path = folder / f"crash-{stamp}-{os.getpid()}.log"
        try:
            folder.mkdir(parents=True, exist_ok=True)
            # O_EXCL and no symlink following: a planted link in a shared /tmp is never written through.
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
        except OSError:
            continue
        try:
            os.write(fd, text)
        except OSError:
            os.close(fd)
            continue
        os.close(fd)
        return path
    return None


def crash_line(err: BaseException, log: Path | None) -> str:
    """The one line for a bug: what happened, in a few words, and where the details are."""
    what = str(err).splitlines()[0].strip() if str(err).strip() else ""
    if len(what) > 160:
        what = what[:157] + "..."
    kind = type(err).__name__ + (f": {what}" if what else "")
    where = f"details in {log}" if log is not None else "no log could be written (run with a writable $XDG_CACHE_HOME)"
    return f"sdmspec: bug: an unexpected error ({kind}); {where}; {ISSUES_HINT}"
