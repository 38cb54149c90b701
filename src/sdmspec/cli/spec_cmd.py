"""``sdmspec spec``: the reference spec itself: its JSON Schema for editors and validators, a check of spec/, and
``init``, which writes a starting spec from an existing repo's configs.

Exit codes: ``schema`` 0 written, 2 spec unreadable; ``check`` 0 valid, 1 invalid (the spec is what it checks: every
problem is reported, at spec/FILE:LINE:COL, in the chosen format); ``init`` 0 written, 2 no configs or the spec
folder already holds files (without ``--force``).
"""

from __future__ import annotations

import json
from enum import Enum
from pathlib import Path

import typer

from sdmspec.errors import EXIT_FINDINGS, SpecError
from sdmspec.io import atomic_write_text, file_option, folder_option
from sdmspec.schema import load_spec
from sdmspec.schema.problems import InvalidSpecError

spec_app = typer.Typer(
    name="spec",
    help="The reference spec: export the configs' JSON Schema, check a spec folder.",
    no_args_is_help=True,
)

SPEC_OPTION_HELP = "The spec folder or file (default: spec/ in this folder or a parent)."


@spec_app.command("schema")
def schema(
    output: Path | None = typer.Option(
        None, "--output", "-o", help="Write the schema here (default: stdout).", callback=file_option("--output")
    ),
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


class CheckFormat(str, Enum):
    TEXT = "text"
    JSON = "json"
    GITHUB = "github"
    SARIF = "sarif"


@spec_app.command("check")
def check(
    spec_path: Path | None = typer.Argument(None, help=SPEC_OPTION_HELP, show_default=False),
    output_format: CheckFormat = typer.Option(
        CheckFormat.TEXT, "--format", "-f", help="How to report an invalid spec's problems.", case_sensitive=False
    ),
    output: Path | None = typer.Option(
        None, "--output", "-o", help="Write the problems' report to this file.", callback=file_option("--output")
    ),
) -> None:
    """Validate a spec folder (or file) and summarise it; exit 1 when it is invalid, reporting every problem (at
    spec/FILE:LINE:COL, with the path as written and what is expected) as `sdmspec lint` reports configs."""
    try:
        spec = load_spec(spec_path)
    except InvalidSpecError as err:
        from sdmspec.cli.lint import report_invalid_spec

        report_invalid_spec(err, output_format.value, output)
        raise typer.Exit(EXIT_FINDINGS) from err
    except SpecError as err:
        typer.echo(f"sdmspec: spec invalid: {err}", err=True)
        raise typer.Exit(EXIT_FINDINGS) from err
    settings = spec.settings.values()
    pinned = sum(1 for setting in settings if setting.pinned)
    assumptions = sum(1 for setting in settings if setting.is_assumption)
    parts = [
        f"{len(spec.settings)} settings ({pinned} pinned, {len(spec.settings) - pinned} unspecified)",
        f"{len(spec.rules)} rules",
    ]
    parts += spec.section_summary()
    assumptions += spec.section_assumptions()
    todo = sum(1 for setting in settings if setting.is_todo)
    parts.append(f"{assumptions} values marked as assumptions")
    if todo:
        parts.append(f"{todo} sources still TODO")
    typer.echo(f"spec valid: {', '.join(parts)}; digest {spec.digest[:12]}")


def register(app: typer.Typer) -> None:
    """Add the ``spec`` command group to the sdmspec app."""
    app.add_typer(spec_app, name="spec")


@spec_app.command("init")
def init(
    configs: list[Path] | None = typer.Argument(
        None, help="The repo's YAML configs: files or folders (recursively). Default: configs/."
    ),
    output: Path = typer.Option(
        Path("spec"), "--output", "-o", help="The spec folder to write.", callback=folder_option("--output")
    ),
    title: str = typer.Option("TODO: the paper's title", "--title", help="The paper's title (paper.yaml)."),
    force: bool = typer.Option(False, "--force", help="Overwrite paper.yaml and config.yaml in the folder."),
    loader: str | None = typer.Option(
        None,
        "--loader",
        metavar="auto|yaml|omegaconf|hydra",
        help="How the program reads the configs: auto (detect), yaml, omegaconf, or hydra: start from the config"
        " Hydra composes for --config-name (and --override), not file by file; runs.yaml then lists that entry."
        " Default: [tool.sdmspec] loader in pyproject.toml, else auto.",
    ),
    config_name: str | None = typer.Option(
        None, "--config-name", help="With --loader hydra: the primary config. Default: [tool.sdmspec] config-name."
    ),
    override: list[str] | None = typer.Option(
        None, "--override", metavar="OVERRIDE", help="With --loader hydra: a Hydra override (repeatable)."
    ),
) -> None:
    """Write a starting spec (paper.yaml + config.yaml) from an existing repo's configs, read as their program reads
    them (--loader): every key found, its type inferred (a union, list[mapping] or any where files disagree),
    `unspecified: true` with the configs' value as default, `source: "TODO: quote the paper"`, keys whose
    value differs between files marked `scope: per_file`. `sdmspec lint` then passes on those configs and lists
    every TODO source (SDM204) until the paper is quoted and the values pinned."""
    from sdmspec.cli.lint import HYDRA, resolve_settings
    from sdmspec.errors import ConfigError, SdmspecError
    from sdmspec.lint.engine import choose_loader
    from sdmspec.lint.scaffold import scaffold
    from sdmspec.settings import config_files

    settings = resolve_settings(configs, None, loader, config_name, override)
    configs = settings.targets
    if settings.loader == HYDRA:
        _init_composed(configs, output, title, force, settings.config_name, settings.overrides)
        return
    files = config_files(configs)
    if not files:
        raise ConfigError(f"no YAML configs under {', '.join(map(str, configs))}")
    targets = (output / "paper.yaml", output / "config.yaml")
    for target in targets:
        if target.is_dir():  # --force cannot replace a folder: say so before writing either file
            raise SdmspecError(f"{target}: is a folder, not a file")
    existing = [str(path) for path in targets if path.exists()]
    if existing and not force:
        raise SdmspecError(f"{', '.join(existing)} already exist(s); pass --force to overwrite")
    chosen = choose_loader(settings.loader, (path.read_bytes() for path in files))
    started = scaffold(files, title=title, loader=chosen)
    output.mkdir(parents=True, exist_ok=True)
    atomic_write_text(targets[0], started.paper_yaml)
    atomic_write_text(targets[1], started.config_yaml)
    for note in started.skipped:
        typer.echo(f"sdmspec: note: skipped {note}", err=True)
    typer.echo(
        f"wrote {output}/: {started.settings} settings from {started.files} config(s) read as {chosen.name}, "
        f"{started.per_file} per_file; "
        f"next: quote the paper in each TODO source (`sdmspec lint --spec {output} "
        f"{' '.join(map(str, configs))}` lists them)"
    )


def _init_composed(
    configs: list[Path] | None, output: Path, title: str, force: bool, config_name: str | None, overrides: list[str]
) -> None:
    """`spec init --loader hydra`: paper.yaml, config.yaml and runs.yaml from one composed entry (sdmspec.compose)."""
    from sdmspec.compose.entry import Entry
    from sdmspec.compose.hydra_compose import require_hydra
    from sdmspec.compose.spec_init import composed_scaffold
    from sdmspec.errors import ConfigError, SdmspecError

    require_hydra("spec init --loader hydra")
    folders = list(configs) if configs else [Path("configs")]
    if len(folders) != 1 or not folders[0].is_dir():
        raise ConfigError(f"--loader hydra composes from one config folder; got {', '.join(map(str, folders))}")
    if config_name is None:
        raise ConfigError("--loader hydra needs --config-name NAME (the primary config, e.g. train)")
    targets = (output / "paper.yaml", output / "config.yaml", output / "runs.yaml")
    for target in targets:
        if target.is_dir():
            raise SdmspecError(f"{target}: is a folder, not a file")
    existing = [str(path) for path in targets if path.exists()]
    if existing and not force:
        raise SdmspecError(f"{', '.join(existing)} already exist(s); pass --force to overwrite")
    entry = Entry(config_name, tuple(overrides))
    made = composed_scaffold(folders[0], entry, title)
    output.mkdir(parents=True, exist_ok=True)
    atomic_write_text(targets[0], made.started.paper_yaml)
    atomic_write_text(targets[1], made.started.config_yaml)
    atomic_write_text(targets[2], made.runs_yaml)
    for note in made.notes:
        typer.echo(f"sdmspec: note: skipped {note}", err=True)
    typer.echo(
        f"wrote {output}/: {made.started.settings} settings from the composed {entry.label}, and the entry in "
        f"runs.yaml; next: quote the paper in each TODO source (`sdmspec lint {folders[0]} --loader hydra --spec "
        f"{output}` lists them)"
    )
