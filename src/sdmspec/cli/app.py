"""The ``sdmspec`` command: one typer app, one small module per command group, one error handler.

Command modules import only light dependencies at module level (typer, pydantic, PyYAML, the standard library):
``sdmspec lint`` must start fast and never import torch, so heavy imports live inside the command functions.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Iterable, Sequence

import typer

from sdmspec import __version__
from sdmspec.errors import EXIT_INTERRUPTED, EXIT_USAGE, SdmspecError
from sdmspec.extras import install_hint, require_extra

# Command name -> the module (sdmspec.cli.<module>) whose register(app) adds it. The order is `sdmspec --help`'s.
COMMANDS: dict[str, str] = {
    "lint": "lint",
    "verify-sparsity": "verify",
    "variants": "variants",
    "job": "jobs",
    "eval": "eval",
    "profile": "profile",
    "run": "run",
    "status": "status",
    "env": "env",
    "validate": "validate",
    "spec": "spec_cmd",
    "docs": "docs",
}
COMMAND_MODULES: tuple[str, ...] = tuple(COMMANDS.values())
# Commands that cannot do anything without the `train` extra: checked before they start, so a core-only install
# (the pre-commit hook's) gets one line naming the install, not a partial run ending in an ImportError.
NEEDS_TRAINING_STACK = frozenset({"variants", "job", "profile", "run"})


def _version(value: bool) -> None:
    if value:
        typer.echo(f"sdmspec {__version__}")
        raise typer.Exit()


def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Show the version."),
) -> None:
    """sdmspec: the SDM-Mamba paper's experimental setup as a typed, source-cited spec."""


def build_app(modules: Iterable[str] = COMMAND_MODULES) -> typer.Typer:
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
    for name in modules:
        importlib.import_module(f"sdmspec.cli.{name}").register(built)
    return built


def _modules_for(argv: Sequence[str]) -> tuple[str, ...]:
    """Only the invoked command's module: `sdmspec lint` (the pre-commit hook) must not pay for the others.

    Help, completion and unknown commands get every module, so they list everything.
    """
    first = next((arg for arg in argv if not arg.startswith("-")), None)
    if first in COMMANDS and not os.environ.get("_SDMSPEC_COMPLETE"):
        return (COMMANDS[first],)
    return COMMAND_MODULES


def _missing_training_stack(argv: Sequence[str]) -> str | None:
    words = [arg for arg in argv if not arg.startswith("-")]
    if not words or words[0] not in NEEDS_TRAINING_STACK or {"-h", "--help"} & set(argv):
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


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point: run the app, turning the project's errors into one line on stderr and a documented exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    missing = _missing_training_stack(args)
    if missing:
        typer.echo(f"sdmspec: error: {missing}", err=True)
        sys.exit(EXIT_USAGE)
    try:
        build_app(_modules_for(args))(args=args, prog_name="sdmspec", standalone_mode=True)
    except SdmspecError as err:
        typer.echo(f"sdmspec: {err.prefix}{err}", err=True)
        sys.exit(err.exit_code)
    except ModuleNotFoundError as err:
        # A core-only install (the pre-commit hook's) running a command that needs the training stack.
        hint = install_hint(err, _command_of(args))
        if hint is None:
            raise
        typer.echo(f"sdmspec: error: {hint}", err=True)
        sys.exit(EXIT_USAGE)
    except BrokenPipeError:
        sys.exit(EXIT_USAGE)
    except OSError as err:
        from sdmspec.io import disk_full_error, is_disk_full

        if not is_disk_full(err):
            raise
        # ENOSPC from any write that did not go through sdmspec.io (a library's own file, a log line): one line too.
        full = disk_full_error(err.filename)
        typer.echo(f"sdmspec: error: {full}", err=True)
        sys.exit(full.exit_code)
    except KeyboardInterrupt:
        typer.echo("sdmspec: interrupted", err=True)
        sys.exit(EXIT_INTERRUPTED)
