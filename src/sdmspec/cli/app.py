"""The ``sdmspec`` command: one typer app, one small module per command group, one error handler.

Command modules import only light dependencies at module level (typer, pydantic, PyYAML, the standard library):
``sdmspec lint`` must start fast and never import torch, so heavy imports live inside the command functions.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence

import typer

from sdmspec import __version__
from sdmspec.errors import EXIT_USAGE, SdmspecError

app = typer.Typer(
    name="sdmspec",
    help="Hold a paper's experiment to its description: lint configs against the spec, verify iso-sparsity, "
    "and run the pipeline only when every check passes.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

# Each module exposes register(app). The order is the order of `sdmspec --help`.
COMMAND_MODULES: tuple[str, ...] = (
    "lint",
    "verify",
    "variants",
    "jobs",
    "profile",
    "run",
    "env",
    "validate",
    "spec_cmd",
    "docs",
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"sdmspec {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Show the version."),
) -> None:
    """sdmspec: the SDM-Mamba paper's experimental setup as a typed, source-cited spec."""


def _register_commands() -> None:
    for name in COMMAND_MODULES:
        module_name = f"sdmspec.cli.{name}"
        if importlib.util.find_spec(module_name) is None:
            continue
        importlib.import_module(module_name).register(app)


_register_commands()


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point: run the app, turning the project's errors into one line on stderr and a documented exit code."""
    try:
        app(args=list(argv) if argv is not None else None, prog_name="sdmspec", standalone_mode=True)
    except SdmspecError as err:
        typer.echo(f"sdmspec: error: {err}", err=True)
        sys.exit(err.exit_code)
    except KeyboardInterrupt:
        typer.echo("sdmspec: interrupted", err=True)
        sys.exit(130)
    except BrokenPipeError:
        sys.exit(EXIT_USAGE)
