"""The project's exceptions. Each carries the exit code the CLI maps it to, so one handler serves every command.

Exit codes (documented in the README): 0 success, 1 findings (lint errors, an iso-sparsity mismatch, a failed
check, a failed job or stage), 2 usage error or input that cannot be read at all (a missing spec, an unreadable or
refused checkpoint, a path of the wrong kind, an input past one of the stated bounds), 3 a bug in sdmspec (an
unexpected error: one line naming the crash log, as pre-commit does), 130 stopped by a signal after saving the work
(rerunning the same command resumes).
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_USAGE = 2
# An unexpected error, i.e. a bug in sdmspec: pre-commit's code for the same thing, so CI tells it from bad input.
EXIT_BUG = 3
EXIT_INTERRUPTED = 130


class SdmspecError(Exception):
    """An error the user can act on; the CLI prints its message on one line and exits with ``exit_code``."""

    exit_code: int = EXIT_USAGE
    # What the CLI's one line starts with after "sdmspec: " (a stop is not an error).
    prefix: str = "error: "


class SpecError(SdmspecError):
    """The reference spec (spec/) is missing, unreadable or invalid."""


class ConfigError(SdmspecError):
    """The repo's configs cannot be read or resolved into a job's settings."""


class CheckpointError(SdmspecError):
    """A checkpoint cannot be read, or was refused because loading it would run code."""


class JobError(SdmspecError):
    """A training or profiling job cannot start or cannot continue (missing data, bad variant, GPU-only option)."""

    exit_code = EXIT_FINDINGS


class DiskFullError(SdmspecError):
    """A write failed for lack of space (ENOSPC, or a quota): one line naming the path and the space needed."""

    exit_code = EXIT_FINDINGS


class GateError(SdmspecError):
    """`sdmspec run` refused to start: a check failed."""

    exit_code = EXIT_FINDINGS


class MissingSectionError(SpecError):
    """A command needs a spec section this paper's spec does not have (``models``, ``variants``, ...)."""

    def __init__(self, section: str) -> None:
        super().__init__(
            f"the spec has no '{section}' section, which this command needs (add it to spec/, e.g. spec/{section}.yaml)"
        )
        self.section = section


class Interrupted(SdmspecError):  # noqa: N818 - the agreed name (a stop, not an error)
    """Stopped by a signal (SIGTERM, SIGINT, SLURM's SIGUSR1) after the work was saved; a rerun resumes."""

    exit_code = EXIT_INTERRUPTED
    prefix = ""


class LimitError(SdmspecError):
    """An input past one of the stated bounds (size, nesting, digits, inflated bytes): refused before it costs
    unbounded time or memory (docs/reference/limits.md lists every bound)."""
