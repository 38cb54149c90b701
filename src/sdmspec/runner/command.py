"""``sdmspec run -- CMD ARGS...``: lint the config a command's Hydra overrides compose, then launch it and record it.

The thin runner of the design for any repository, not only this paper's pipeline: the command's Hydra overrides
(``python train.py experiment=x model.lr=3e-4``) are parsed with Hydra's own ``OverridesParser`` and composed with
the config folder (:mod:`sdmspec.compose`), and the composed config is linted against the spec. On an error the
command is not started. Otherwise it runs in the foreground, with every stop signal forwarded to it, and its exit
code becomes sdmspec's; ``OUT/record.json`` (written atomically when it starts and when it ends) holds the command,
the git commit and dirtiness, the spec's and the merged config files' hashes, the composed config, the start, the
end and the exit code.

Which words are overrides: the arguments after the program (the first word ending in ``.py``, the module after
``-m``, else the first word), except options (``-x``, ``--flag``) and Hydra's own ``--config-name``/``-cn`` (which
names the primary config), ``--config-path``/``-cp`` and ``--config-dir``/``-cd`` with their values. A sweep
(``--multirun``, ``lr=1e-3,1e-4``) launches several runs: it is refused, each run is an entry of its own.

Any-paper core: nothing here imports this paper's pipeline.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from types import FrameType
from typing import Any

from sdmspec.compose.composed_lint import ComposedEntry
from sdmspec.compose.entry import Entry
from sdmspec.errors import ConfigError
from sdmspec.lint.engine import LintResult
from sdmspec.schema import PaperSpec

# Signals a scheduler or a person stops a job with; each is passed on to the command (SLURM sends USR1/USR2 before
# a time limit, many training scripts checkpoint on them).
FORWARDED_SIGNALS: tuple[signal.Signals, ...] = tuple(
    getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2")
    if hasattr(signal, name)
)  # fmt: skip
_VALUED_HYDRA_FLAGS = ("--config-path", "-cp", "--config-dir", "-cd")
_CONFIG_NAME_FLAGS = ("--config-name", "-cn")
_SWEEP_FLAGS = ("--multirun", "-m")
RECORD_NAME = "record.json"


@dataclass(frozen=True)
class CommandArgs:
    """A command line as Hydra would read its program's arguments (see the module docstring)."""

    argv: tuple[str, ...]
    overrides: tuple[str, ...]
    config_name: str | None = None
    multirun: bool = False


def _program_start(argv: Sequence[str]) -> int:
    """The index of the first of the program's own arguments."""
    for index, word in enumerate(argv):
        if word.endswith(".py"):
            return index + 1
        if word == "-m" and index + 1 < len(argv) and index > 0:
            return index + 2
    return 1


def split_command(argv: Sequence[str]) -> CommandArgs:
    """The Hydra overrides, config name and multirun flag in ``argv`` (the words are kept as written)."""
    if not argv:
        raise ConfigError("sdmspec run --: give the command to run (sdmspec run -- python train.py experiment=x)")
    words = list(argv)
    overrides: list[str] = []
    config_name: str | None = None
    multirun = False
    index = _program_start(words)
    while index < len(words):
        word = words[index]
        flag, has_value, value = word.partition("=")
        if flag in _CONFIG_NAME_FLAGS:
            if has_value:
                config_name = value
            elif index + 1 < len(words):
                config_name = words[index + 1]
                index += 1
        elif flag in _VALUED_HYDRA_FLAGS:
            index += 0 if has_value else 1
        elif word in _SWEEP_FLAGS:
            multirun = True
        elif not word.startswith("-"):
            overrides.append(word)
        index += 1
    return CommandArgs(tuple(words), tuple(overrides), config_name, multirun)


def parse_overrides(overrides: Sequence[str]) -> None:
    """Check the overrides with Hydra's own parser: a bad one or a sweep is one line (exit 2)."""
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import OverrideParseException

    try:
        parsed = OverridesParser.create().parse_overrides(list(overrides))
    except OverrideParseException as err:
        first = str(err).strip().splitlines()
        raise ConfigError(f"the command's Hydra overrides do not parse: {first[0] if first else err}") from err
    sweeps = [override.input_line for override in parsed if override.is_sweep_override()]
    if sweeps:
        raise ConfigError(
            f"{', '.join(str(s) for s in sweeps)} is a sweep (several runs): list each run as an entry, or launch "
            "them one by one"
        )


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


@dataclass
class RunRecord:
    """What ``OUT/record.json`` holds (see the module docstring)."""

    command: list[str]
    cwd: str
    config_dir: str
    config_name: str
    overrides: list[str]
    git_commit: str | None
    git_dirty: bool | None
    git_diff_sha256: str | None
    spec_path: str
    spec_hash: str
    config_hashes: dict[str, str]
    composed_config: dict[str, Any]
    lint: dict[str, int]
    started_at: str | None = None
    ended_at: str | None = None
    exit_code: int | None = None
    pid: int | None = None
    signals: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def write_record(out: Path, record: RunRecord) -> Path:
    from sdmspec.io import atomic_write_json

    path = out / RECORD_NAME
    atomic_write_json(path, record.to_json())
    return path


def _terminal_sent_it(signum: int) -> bool:
    """Whether a Ctrl-C at the terminal reached the command too (it shares our foreground process group)."""
    if signum != signal.SIGINT:
        return False
    try:
        return os.tcgetpgrp(sys.stdin.fileno()) == os.getpgrp()
    except (OSError, ValueError, AttributeError):
        return False


def exit_status(returncode: int) -> int:
    """The command's status as a shell reports it: a death by signal N is 128 + N."""
    return 128 - returncode if returncode < 0 else returncode


def launch(argv: Sequence[str], on_started: Callable[[int], None], on_signal: Callable[[str], None]) -> int:
    """Run ``argv`` in the foreground, forwarding :data:`FORWARDED_SIGNALS` to it; its exit status.

    Handlers are in place before the command starts, so a signal in between is kept and sent once it exists.
    A command that cannot be started (not found, not executable) is one line (exit 2).
    """
    process: subprocess.Popen[bytes] | None = None
    pending: list[int] = []

    def forward(signum: int, frame: FrameType | None) -> None:
        on_signal(signal.Signals(signum).name)
        if _terminal_sent_it(signum):
            return  # the terminal delivered it to the whole foreground group: sending it again would be twice
        if process is None:
            pending.append(signum)
            return
        with contextlib.suppress(ProcessLookupError):  # it has just exited: its status is coming
            process.send_signal(signum)

    previous = {sig: signal.signal(sig, forward) for sig in FORWARDED_SIGNALS}
    try:
        try:
            process = subprocess.Popen(list(argv))  # the user's own command, as typed
        except OSError as err:
            raise ConfigError(f"cannot start {argv[0]}: {err.strerror or err}") from err
        on_started(process.pid)
        for signum in pending:
            process.send_signal(signum)
        return exit_status(process.wait())
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@dataclass(frozen=True)
class PreparedCommand:
    """A command ready to be judged: its words, the entry it composes, what lint found in that composition."""

    args: CommandArgs
    entry: Entry
    composed: ComposedEntry
    result: LintResult
    config_dir: Path


def _config_name(args: CommandArgs, given: str | None, spec: PaperSpec) -> str:
    if given is not None:
        return given
    if args.config_name is not None:
        return args.config_name
    names = {run.config_name for run in spec.runs}
    if len(names) == 1:
        return names.pop()
    raise ConfigError(
        "name the command's primary config: --config-name NAME (the config_name of its @hydra.main), or "
        "--config-name in the command"
    )


def prepare_command(
    argv: Sequence[str],
    spec: PaperSpec,
    *,
    config_dir: Path,
    config_name: str | None = None,
    spec_path: Path | None = None,
) -> PreparedCommand:
    """Split ``argv``, parse its overrides with Hydra's parser, compose them from ``config_dir`` and lint that."""
    from sdmspec.compose.composed_lint import compose_and_resolve, lint_entry
    from sdmspec.compose.hydra_compose import require_hydra
    from sdmspec.lint.selection import select_rules

    args = split_command(argv)
    require_hydra("run -- CMD")
    if args.multirun:
        raise ConfigError("--multirun launches a sweep (several runs): list each run as an entry, or launch each")
    parse_overrides(args.overrides)
    if not config_dir.is_dir():
        raise ConfigError(f"{config_dir}: not a folder of Hydra configs (pass --configs DIR)")
    entry = Entry(_config_name(args, config_name, spec), args.overrides)
    composed = compose_and_resolve(config_dir, entry, spec)
    diagnostics = lint_entry(composed, spec, select_rules(None, None), spec_path=spec_path)
    ordered = tuple(sorted(diagnostics, key=lambda d: d.sort_key))
    files = composed.composition.files if composed.composition is not None else ()
    result = LintResult(ordered, files=sum(1 for merged in files if merged.path is not None), root=str(config_dir))
    return PreparedCommand(args, entry, composed, result, config_dir)


def config_file_hashes(prepared: PreparedCommand) -> dict[str, str]:
    """sha256 of every file the composition merged, keyed by its path relative to the config folder."""
    from sdmspec.io import sha256_file

    composition = prepared.composed.composition
    hashes: dict[str, str] = {}
    for merged in composition.files if composition is not None else ():
        if merged.path is not None and str(merged.path) not in hashes:
            try:
                name = str(merged.path.relative_to(prepared.config_dir.resolve()))
            except ValueError:
                name = str(merged.path)
            hashes[name] = sha256_file(merged.path)
    return hashes


def run_prepared(prepared: PreparedCommand, spec: PaperSpec, *, out: Path, spec_path: Path | None) -> tuple[int, Path]:
    """Launch the command (see :func:`launch`), recording it in ``out``; its exit status and the record's path."""
    from sdmspec.gitstate import git_state
    from sdmspec.schema import find_spec_dir

    git = git_state(prepared.config_dir.resolve())
    record = RunRecord(
        command=list(prepared.args.argv),
        cwd=str(Path.cwd()),
        config_dir=str(prepared.config_dir),
        config_name=prepared.entry.config_name,
        overrides=list(prepared.entry.overrides),
        git_commit=git.commit,
        git_dirty=git.dirty,
        git_diff_sha256=git.diff_sha256,
        spec_path=str(spec_path if spec_path is not None else find_spec_dir()),
        spec_hash=spec.digest,
        config_hashes=config_file_hashes(prepared),
        composed_config=prepared.composed.resolved_config(),
        lint={"errors": prepared.result.errors, "warnings": prepared.result.warnings, "infos": prepared.result.infos},
    )
    path = out / RECORD_NAME

    def started(pid: int) -> None:
        record.pid = pid
        write_record(out, record)

    record.started_at = _now()
    try:
        status = launch(prepared.args.argv, started, record.signals.append)
    except BaseException:
        if record.pid is not None:  # it started: its end is recorded however this ends
            record.ended_at = _now()
            write_record(out, record)
        raise
    record.ended_at = _now()
    record.exit_code = status
    write_record(out, record)
    return status, path
