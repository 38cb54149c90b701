"""The ``sdmspec`` command: one typer app, one small module per command group, one error handler.

Command modules import only light dependencies at module level (typer, pydantic, PyYAML, the standard library):
``sdmspec lint`` must start fast and never import torch, so heavy imports live inside the command functions.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

import typer

from sdmspec import __version__
from sdmspec.errors import EXIT_BUG, EXIT_DISK_FULL, EXIT_INTERRUPTED, EXIT_USAGE, SdmspecError
from sdmspec.extras import install_hint, require_extra
from sdmspec.plugins import PluginError, installed

# The core's commands: name -> the module whose register(app) adds it. The order is `sdmspec --help`'s; an
# installed paper pipeline's commands follow (sdmspec.plugins).
CORE_COMMANDS: dict[str, str] = {
    "lint": "sdmspec.cli.lint",
    "verify-sparsity": "sdmspec.cli.verify",
    "run": "sdmspec.cli.run",
    "status": "sdmspec.cli.status",
    "env": "sdmspec.cli.env",
    "validate": "sdmspec.cli.validate",
    "spec": "sdmspec.cli.spec_cmd",
    "docs": "sdmspec.cli.docs",
}
# Core commands that cannot do anything without the `train` extra (`sdmspec run`'s stages are training jobs):
# checked before they start, so a core-only install (the pre-commit hook's) gets one line naming the install, not a
# partial run ending in an ImportError. A pipeline names its own (Pipeline.training_commands).
CORE_TRAINING_COMMANDS = frozenset({"run"})


def commands() -> dict[str, str]:
    """Every command: the core's, then each installed pipeline's (a pipeline cannot replace a core command)."""
    found = dict(CORE_COMMANDS)
    for pipeline in installed():
        for name, module in pipeline.commands.items():
            if name in found:
                raise PluginError(f"pipeline {pipeline.name!r} adds the command {name!r}, which sdmspec already has")
            found[name] = module
    return found


def training_commands() -> frozenset[str]:
    return CORE_TRAINING_COMMANDS.union(*(pipeline.training_commands for pipeline in installed()))


# Pipeline subcommands that read only JSON: `sdmspec job report` writes a run's report.md on any install.
CORE_SUBCOMMANDS = frozenset({("job", "report")})


def _version(value: bool) -> None:
    if value:
        typer.echo(f"sdmspec {__version__}")
        raise typer.Exit()


def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Show the version."),
) -> None:
    """sdmspec: the SDM-Mamba paper's experimental setup as a typed, source-cited spec."""


def build_app(modules: Iterable[str] | None = None) -> typer.Typer:
    """The typer app with the commands of ``modules`` registered (all of them by default)."""
    built = typer.Typer(
        name="sdmspec",
        help="Hold a paper's experiment to its description: lint configs against the spec, verify iso-sparsity, "
        "and run the pipeline only when every check passes.",
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        context_settings={"help_option_names": ["-h", "--help"]},
    )
    built.callback()(_root)
    for name in commands().values() if modules is None else modules:
        importlib.import_module(name).register(built)
    return built


def _modules_for(argv: Sequence[str]) -> tuple[str, ...]:
    """Only the invoked command's module: `sdmspec lint` (the pre-commit hook) must not pay for the others.

    Help, completion and unknown commands get every module, so they list everything.
    """
    first = next((arg for arg in argv if not arg.startswith("-")), None)
    known = commands()
    if first in known and not os.environ.get("_SDMSPEC_COMPLETE"):
        return (known[first],)
    return tuple(known.values())


def _missing_training_stack(argv: Sequence[str]) -> str | None:
    words = [arg for arg in argv if not arg.startswith("-")]
    if not words or words[0] not in training_commands() or {"-h", "--help"} & set(argv):
        return None
    if tuple(words[:2]) in CORE_SUBCOMMANDS:
        return None
    if words[0] == "run" and "--" in argv:
        return None  # `sdmspec run -- CMD` launches another repository's command: it needs Hydra, not torch
    return require_extra("train", _command_of(argv))


def _command_of(argv: Sequence[str]) -> str:
    """The command and subcommand as typed (`job pretrain`), for messages."""
    words = [arg for arg in argv if not arg.startswith("-")][:2]
    if words and words[0] != "job" and words[0] != "spec":
        words = words[:1]
    return " ".join(words) or "sdmspec"


def __getattr__(name: str) -> typer.Typer:
    # `app` (every command) is built on first access: tests and typer's tooling use it, `main` does not.
    if name == "app":
        built = build_app()
        globals()["app"] = built
        return built
    raise AttributeError(name)


def _closed_streams() -> None:
    """A closed stdout or stderr (``sdmspec lint >&-``) reads as None in Python: give it a sink, as ``print`` does.

    A report written to a closed stdout is lost (as it is with ``print``); ``--output`` still writes its file.
    """
    if sys.stdout is None:
        sys.stdout = Path(os.devnull).open("w")  # noqa: SIM115 - lives as long as the process
    if sys.stderr is None:
        sys.stderr = Path(os.devnull).open("w")  # noqa: SIM115


def _os_error_line(err: OSError) -> str:
    """One line for an OSError that names a path: what could not be done, where (a full disk says how full)."""
    from sdmspec.io import disk_full_error, is_disk_full

    if is_disk_full(err):
        # No file name: the write that failed was to stdout (a redirect onto a full filesystem).
        return (
            str(disk_full_error(err.filename)) if err.filename is not None else "no space left on device writing stdout"
        )
    return f"{err.filename}: {err.strerror or err}"


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point: run the app, turning the project's errors into one line on stderr and a documented exit code.

    Anything else is a bug: one line naming a crash log that holds the traceback (:mod:`sdmspec.crash`), exit 3.
    """
    _closed_streams()
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        missing = _missing_training_stack(args)
        if missing:
            typer.echo(f"sdmspec: error: {missing}", err=True)
            sys.exit(EXIT_USAGE)
        build_app(_modules_for(args))(args=args, prog_name="sdmspec", standalone_mode=True)
    except SdmspecError as err:
        typer.echo(f"sdmspec: {err.prefix}{err}", err=True)
        sys.exit(err.exit_code)
    except ModuleNotFoundError as err:
        # A core-only install (the pre-commit hook's) running a command that needs the training stack.
        hint = install_hint(err, _command_of(args))
        if hint is None:
            _bug(err, args)
        typer.echo(f"sdmspec: error: {hint}", err=True)
        sys.exit(EXIT_USAGE)
    except BrokenPipeError:
        sys.exit(EXIT_USAGE)
    except OSError as err:
        # ENOSPC from any write that did not go through sdmspec.io (a library's own file, stdout), or a path the
        # command could not open (EACCES, ENAMETOOLONG, ELOOP): input that cannot be read, one line, exit 2 (a full
        # disk: exit 4, which tells the runner a stage's disk filled).
        from sdmspec.io import is_disk_full

        full = is_disk_full(err)
        if err.filename is None and not full:
            _bug(err, args)
        _say(f"sdmspec: error: {_os_error_line(err)}")
        sys.exit(EXIT_DISK_FULL if full else EXIT_USAGE)
    except KeyboardInterrupt:
        typer.echo("sdmspec: interrupted", err=True)
        sys.exit(EXIT_INTERRUPTED)
    except Exception as err:  # the one place a bug becomes a line and a log, not a traceback
        _bug(err, args)


def _bug(err: BaseException, args: Sequence[str]) -> None:
    from sdmspec.crash import crash_line, write_crash_log

    log = write_crash_log(err, args)
    _say(crash_line(err, log))
    sys.exit(EXIT_BUG)


def _say(line: str) -> None:
    # stderr itself may be gone (or full): the exit code still says it.
    with contextlib.suppress(OSError):
        typer.echo(line, err=True)
