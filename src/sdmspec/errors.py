"""The project's exceptions. Each carries the exit code the CLI maps it to, so one handler serves every command.

Exit codes (``EXIT_MEANINGS``, the documentation's table): 0 success, 1 findings (lint errors, an iso-sparsity
mismatch, a failed check, a failed job or stage), 2 usage error or input that cannot be read at all (a missing spec,
an unreadable or refused checkpoint, a path of the wrong kind, an input past one of the stated bounds), 3 a bug in
sdmspec (an unexpected error: one line naming the crash log, as pre-commit does), 4 the disk (or the quota) is full,
130 stopped by a signal after saving the work (rerunning the same command resumes).
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_USAGE = 2
# An unexpected error, i.e. a bug in sdmspec: pre-commit's code for the same thing, so CI tells it from bad input.
EXIT_BUG = 3
# A write found no space (ENOSPC, EDQUOT): a code of its own, so the runner knows a stage's disk filled from its exit
# status alone, and stops starting stages that would fail the same way.
EXIT_DISK_FULL = 4
EXIT_INTERRUPTED = 130
# What each code means, for every command: the documentation's exit-code table is generated from this and from the
# exception classes below (their exit_code and docstring), so it cannot drift from the code.
EXIT_MEANINGS: dict[int, str] = {
    EXIT_OK: "done: clean lint, a match, every selected stage done; `sdmspec status` whenever the run folder is "
    "readable",
    EXIT_FINDINGS: "findings or a failure: lint errors, an iso-sparsity mismatch, a failed check, a refused gate, a "
    "failed job or stage",
    EXIT_USAGE: "usage error or input that cannot be read: a bad option, a path of the wrong kind, no spec, a spec "
    "that does not load or lacks a section the command needs, an unreadable or refused checkpoint, a folder another "
    "job is writing, an option the machine cannot honour, a missing training stack on a core install, an input past "
    "one of the stated bounds (docs/reference/limits.md)",
    EXIT_BUG: "a bug in sdmspec: an unexpected error, reported in one line that names the crash log holding the "
    "details (please report it with that log)",
    EXIT_DISK_FULL: "a full disk or quota: a write found no space; one line names the path, the space it needed and "
    "what is free (`sdmspec run` starts nothing more once a stage exits with it; free space, then rerun to resume)",
    EXIT_INTERRUPTED: "stopped by a signal (SIGINT, SIGTERM, SLURM's SIGUSR1) after saving: rerunning the same "
    "command resumes",
}


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

    exit_code = EXIT_DISK_FULL


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
