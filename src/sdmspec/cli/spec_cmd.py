"""``sdmspec spec``: the reference spec itself: its JSON Schema for editors and validators, and a check of spec/.

Exit codes: ``schema`` 0 written, 2 spec unreadable; ``check`` 0 valid, 1 invalid (the spec is what it checks).
"""

from __future__ import annotations

import json
from pathlib import Path

import typer

from sdmspec.errors import EXIT_FINDINGS, SpecError
from sdmspec.io import atomic_write_text
from sdmspec.schema import load_spec

spec_app = typer.Typer(
    name="spec",
    help="The reference spec: export the configs' JSON Schema, check a spec folder.",
    no_args_is_help=True,
)

SPEC_OPTION_HELP = "The spec folder or file (default: spec/ in this folder or a parent)."


@spec_app.command("schema")
def schema(
    output: Path | None = typer.Option(None, "--output", "-o", help="Write the schema here (default: stdout)."),
    spec_path: Path | None = typer.Option(None, "--spec", help=SPEC_OPTION_HELP),
) -> None:
    """Print the JSON Schema (draft 2020-12) of the configs: pinned values become constraints.

    Use it with check-jsonschema (`check-jsonschema --schemafile configs.schema.json configs/*.yaml`) or with
    yaml-language-server (`# yaml-language-server: $schema=configs.schema.json`) to complete keys and flag values
    in the editor. `sdmspec lint` remains the authority: JSON Schema cannot see YAML 1.1 pitfalls or cross-field rules.
    """
    from sdmspec.schema.jsonschema import config_json_schema

    text = json.dumps(config_json_schema(load_spec(spec_path)), indent=2) + "\n"
    if output is None:
        typer.echo(text, nl=False)
    else:
        atomic_write_text(output, text)
        typer.echo(f"wrote {output}", err=True)


@spec_app.command("check")
def check(
    spec_path: Path | None = typer.Argument(None, help=SPEC_OPTION_HELP, show_default=False),
) -> None:
    """Validate a spec folder (or file) and summarise it; exit 1 when it is invalid."""
    try:
        spec = load_spec(spec_path)
    except SpecError as err:
        typer.echo(f"sdmspec: spec invalid: {err}", err=True)
        raise typer.Exit(EXIT_FINDINGS) from err
    settings = spec.settings.values()
    pinned = sum(1 for setting in settings if setting.pinned)
    assumptions = sum(1 for setting in settings if setting.is_assumption)
    assumptions += sum(1 for variant in spec.variants if variant.is_assumption)
    typer.echo(
        f"spec valid: {len(spec.settings)} settings ({pinned} pinned, {len(spec.settings) - pinned} unspecified), "
        f"{len(spec.models)} model sizes, {len(spec.variants)} variants, {len(spec.rules)} rules, "
        f"{assumptions} values marked as assumptions; digest {spec.digest[:12]}"
    )


def register(app: typer.Typer) -> None:
    """Add the ``spec`` command group to the sdmspec app."""
    app.add_typer(spec_app, name="spec")
