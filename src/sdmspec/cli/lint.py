"""``sdmspec lint``: parse the options, call :mod:`sdmspec.lint`, render with :mod:`sdmspec.report`, exit.

Exit codes: 0 no errors (warnings and infos do not fail), 1 errors found (or, with ``--diff``, files would change),
2 usage error or input that cannot be read at all (a missing path, an invalid spec, an unknown loader, the
``omegaconf`` loader without its extra, a bad ``[tool.sdmspec]`` table).

Without a spec (no ``--spec``, none in ``[tool.sdmspec]``, no ``spec/`` here or above), every check that needs none
runs (syntax, duplicate keys, the loader's pitfalls, input rules) and one line on stderr says that ``sdmspec spec
init`` writes a spec from the configs. ``--loader`` (or ``[tool.sdmspec] loader``) says how the program reads the
configs; the report names the loader used.

With ``--format json`` or ``sarif``, stdout (or ``--output``) holds exactly one document whenever the exit code is 0
or 1, also when there is nothing to lint (an empty report whose notices say so); exit 2 prints one error line on
stderr and no document, except for a spec that does not load: its problems (SDM000, each at spec/FILE:LINE:COL)
are the report, in the chosen format, and the exit code is 2 whether or not there is anything to lint.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from sdmspec.errors import EXIT_FINDINGS, EXIT_OK, EXIT_USAGE, SdmspecError
from sdmspec.io import file_option
from sdmspec.schema.problems import InvalidSpecError

if TYPE_CHECKING:
    from sdmspec.schema import PaperSpec


# The loader that composes instead of reading file by file (sdmspec.compose); the others are sdmspec.lint.loaders'.
HYDRA = "hydra"


class OutputFormat(str, Enum):
    TEXT = "text"
    JSON = "json"
    GITHUB = "github"
    SARIF = "sarif"


def _explain(selector: str) -> int:
    from sdmspec.lint.rules import RULES, rule_help, rule_summary
    from sdmspec.lint.selection import find_rule

    if selector.lower() == "all":
        for code, rule in RULES.items():
            typer.echo(f"{code}  {rule.NAME:<28} {rule.SEVERITY.value:<8} {rule_summary(rule)}")
        return EXIT_OK
    found = find_rule(selector)
    if found is None:
        typer.echo(f"sdmspec: error: no rule {selector!r} (try --explain all)", err=True)
        return EXIT_USAGE
    typer.echo(f"{found.CODE} ({found.NAME}), default severity {found.SEVERITY.value}\n")
    typer.echo(rule_help(found))
    return EXIT_OK


def _emit(report: str, output: Path | None) -> None:
    if output is not None:
        from sdmspec.io import atomic_write_text

        atomic_write_text(output, report)
    else:
        typer.echo(report, nl=False)


def report_invalid_spec(err: InvalidSpecError, output_format: str, output: Path | None) -> None:
    """A spec that does not load, reported as lint reports configs (SDM000 findings), and the one-line error."""
    from sdmspec.lint.spec_report import spec_result
    from sdmspec.report import ReportOptions, render

    color = output is None and output_format == "text" and sys.stdout.isatty() and "NO_COLOR" not in os.environ
    _emit(render(output_format, spec_result(err.problems), ReportOptions(color=color)), output)
    count = len(err.problems)
    typer.echo(f"sdmspec: error: the spec does not load ({count} problem{'s' if count != 1 else ''})", err=True)


def lint(
    paths: list[Path] | None = typer.Argument(
        None,
        help="YAML files or folders to lint (folders recursively). Default: configs/. A file is judged in the context"
        " of its config folder (configs/ when it holds the file, else the file's folder): cross-file rules weigh the"
        " other configs there, but only the given files are reported on and fixed.",
    ),
    spec_path: Path | None = typer.Option(
        None, "--spec", help="The spec folder or file. Default: spec/ in this folder or a parent."
    ),
    loader: str | None = typer.Option(
        None,
        "--loader",
        metavar="auto|yaml|omegaconf|hydra",
        help="How the program reads the configs: auto (detect), yaml (PyYAML safe_load), omegaconf (OmegaConf.load),"
        " or hydra: compose the config folder with Hydra (the `hydra` extra) and check the composed config of"
        " --config-name, or of each entry in spec/runs.yaml. Default: [tool.sdmspec] loader in pyproject.toml, else"
        " auto.",
    ),
    show_infos: bool = typer.Option(
        False, "--show-infos", help="List infos one by one in the text report (by default they are only counted)."
    ),
    output_format: OutputFormat = typer.Option(
        OutputFormat.TEXT, "--format", "--output-format", "-f", help="Report format.", case_sensitive=False
    ),
    output: Path | None = typer.Option(
        None, "--output", "-o", help="Write the report to this file.", callback=file_option("--output")
    ),
    select: list[str] | None = typer.Option(
        None, "--select", help="Rules to run: codes, prefixes (SDM1), names or ALL; comma-separated or repeated."
    ),
    ignore: list[str] | None = typer.Option(None, "--ignore", help="Rules to skip (same forms as --select)."),
    fix: bool = typer.Option(False, "--fix", help="Apply safe fixes in place (atomically)."),
    unsafe_fixes: bool = typer.Option(
        False, "--unsafe-fixes", help="With --fix or --diff, also apply fixes that change values or types."
    ),
    diff: bool = typer.Option(False, "--diff", help="Print the fixes as a unified diff; write nothing."),
    statistics: bool = typer.Option(False, "--statistics", help="Add a count of findings per rule (text format)."),
    show_source: bool = typer.Option(False, "--show-source", help="Show the offending line (text format)."),
    exit_zero: bool = typer.Option(False, "--exit-zero", help="Exit 0 even when errors are found."),
    isolated: bool = typer.Option(
        False, "--isolated", help="Judge the given files alone, without the other configs of their folder."
    ),
    explain: str | None = typer.Option(
        None, "--explain", metavar="CODE", help="Print a rule's documentation (or 'all' for the list) and exit."
    ),
    config_name: str | None = typer.Option(
        None, "--config-name", help="With --loader hydra: the primary config to compose (train for train.yaml)."
    ),
    override: list[str] | None = typer.Option(
        None,
        "--override",
        metavar="OVERRIDE",
        help="With --loader hydra: a Hydra override, as on the program's command line (experiment=example); "
        "repeatable, after [tool.sdmspec] overrides.",
    ),
) -> None:
    """Check YAML configs against the paper's spec: values, YAML 1.1 pitfalls, structure, cross-file conflicts."""
    if explain is not None:
        raise typer.Exit(_explain(explain))

    from sdmspec.lint.engine import LintResult, lint_paths
    from sdmspec.lint.fix import fix_paths
    from sdmspec.lint.reading import collect
    from sdmspec.report import ReportOptions, render

    settings = resolve_settings(paths, spec_path, loader, config_name, override)
    targets, spec_path, loader = settings.targets, settings.spec_path, settings.loader
    try:
        spec = load_or_empty_spec(spec_path)  # first: a broken spec is an error also when there is nothing to lint
    except InvalidSpecError as err:
        report_invalid_spec(err, output_format.value, output)
        raise typer.Exit(EXIT_USAGE) from err
    if spec is None:
        spec = empty_spec()
        typer.echo(
            "sdmspec: note: no spec (spec/ here or above, --spec, [tool.sdmspec] spec): ran the checks that need none;"
            f" `sdmspec spec init {' '.join(map(str, targets))}` writes a spec from the configs",
            err=True,
        )
    if loader == HYDRA:
        _lint_composed(targets, spec, spec_path, settings.config_name, settings.overrides, output_format, output,
                       exit_zero, select=select, ignore=ignore, fix=fix or diff, show_source=show_source,
                       show_infos=show_infos)  # fmt: skip
    if config_name is not None or override:
        raise SdmspecError("--config-name and --override compose with Hydra: add --loader hydra")
    if not collect(targets).files:
        # Nothing to lint (an empty folder, a folder named like a file): not an error, but machine formats still
        # print their one document (an empty report carrying the notice), so a pipe into `jq` or an upload works.
        notice = f"no YAML files under {', '.join(map(str, targets))}"
        typer.echo(f"sdmspec: warning: {notice}", err=True)
        if output_format is not OutputFormat.TEXT and not diff:
            empty = LintResult(diagnostics=(), files=0)
            _emit(render(output_format.value, empty, ReportOptions(notices=(notice,))), output)
        raise typer.Exit(EXIT_OK)
    if diff:
        outcome = fix_paths(
            targets,
            spec,
            unsafe=unsafe_fixes,
            write=False,
            select=select,
            ignore=ignore,
            spec_path=spec_path,
            isolated=isolated,
            loader=loader,
        )
        for change in outcome.changes:
            typer.echo(change.diff(), nl=False)
        typer.echo(f"Would fix {outcome.fixed} finding(s) in {len(outcome.changes)} file(s).", err=True)
        raise typer.Exit(EXIT_FINDINGS if outcome.changes else EXIT_OK)
    fixed = 0
    if fix:
        outcome = fix_paths(
            targets,
            spec,
            unsafe=unsafe_fixes,
            write=True,
            select=select,
            ignore=ignore,
            spec_path=spec_path,
            isolated=isolated,
            loader=loader,
        )
        result, fixed = outcome.result, outcome.fixed
        for path in outcome.conflicts:
            typer.echo(f"sdmspec: warning: {path}: changed while being fixed; left as it is (rerun --fix)", err=True)
    else:
        result = lint_paths(
            targets, spec, select=select, ignore=ignore, spec_path=spec_path, isolated=isolated, loader=loader
        )
    color = output is None and output_format is OutputFormat.TEXT and sys.stdout.isatty()
    options = ReportOptions(
        fixed=fixed,
        unsafe_fixes=unsafe_fixes,
        statistics=statistics,
        show_source=show_source,
        color=color and "NO_COLOR" not in os.environ,
        # Infos are listed when asked for, or when the selection names rules (a user who selects SDM204 wants them).
        show_infos=show_infos or bool(select),
    )
    _emit(render(output_format.value, result, options), output)
    raise typer.Exit(EXIT_FINDINGS if result.errors and not exit_zero else EXIT_OK)


@dataclass(frozen=True)
class LintSettings:
    """What to lint, against which spec, read by which loader: the options, else ``[tool.sdmspec]``, else defaults."""

    targets: list[Path]
    spec_path: Path | None
    loader: str
    # --loader hydra: the primary config and the overrides ([tool.sdmspec]'s first, then the command line's).
    config_name: str | None = None
    overrides: list[str] = field(default_factory=list)


def resolve_settings(
    paths: list[Path] | None,
    spec_path: Path | None,
    loader: str | None,
    config_name: str | None = None,
    overrides: list[str] | None = None,
) -> LintSettings:
    """The options given, completed from the nearest ``pyproject.toml``'s ``[tool.sdmspec]`` (paths in it are
    relative to that file), else the defaults (``configs/``, ``spec/`` found upwards, ``auto``)."""
    from sdmspec.errors import ConfigError
    from sdmspec.lint.context import DEFAULT_CONFIG_FOLDER
    from sdmspec.lint.loaders import LOADER_NAMES
    from sdmspec.toolconfig import find_tool_config

    start = paths[0] if paths else Path.cwd()
    tool, pyproject = find_tool_config(start if start.exists() else Path.cwd())
    base = pyproject.parent if pyproject is not None else Path.cwd()
    targets = list(paths) if paths else [_relative(base / name) for name in tool.configs or ()]
    if spec_path is None and tool.spec is not None:
        spec_path = _relative(base / tool.spec)
    chosen = (loader or tool.loader or "auto").lower()
    known = (*LOADER_NAMES, HYDRA)
    if chosen not in known:
        where = "--loader" if loader else f"{pyproject}: [tool.sdmspec] loader"
        raise ConfigError(f"{where}: unknown loader {chosen!r} (known: {', '.join(known)})")
    return LintSettings(
        targets or [DEFAULT_CONFIG_FOLDER],
        spec_path,
        chosen,
        config_name=config_name or tool.config_name,
        overrides=[*tool.overrides, *(overrides or [])],
    )


def _relative(path: Path) -> Path:
    # Findings name files as given; a path under the current folder reads best relative to it.
    try:
        return path.resolve().relative_to(Path.cwd().resolve())
    except ValueError:
        return path


def load_or_empty_spec(spec_path: Path | None) -> PaperSpec | None:
    """The spec at ``spec_path`` (or ``spec/`` found upwards); None when no path was given and none is found."""
    from sdmspec.errors import SpecError
    from sdmspec.schema import load_spec
    from sdmspec.schema.loading import find_spec_dir

    if spec_path is None:
        try:
            spec_path = find_spec_dir()
        except SpecError:
            return None
    return load_spec(spec_path)


def empty_spec() -> PaperSpec:
    """A spec with no settings: lint runs only the checks that need none (input, pitfalls, duplicate keys)."""
    from sdmspec.schema import PaperSpec
    from sdmspec.schema.paper import PaperInfo

    return PaperSpec(paper=PaperInfo(title="(no spec)", source="none: sdmspec spec init writes one"), settings={})


def _lint_composed(
    targets: list[Path],
    spec: PaperSpec,
    spec_path: Path | None,
    config_name: str | None,
    overrides: list[str],
    output_format: OutputFormat,
    output: Path | None,
    exit_zero: bool,
    *,
    select: list[str] | None,
    ignore: list[str] | None,
    fix: bool,
    show_source: bool,
    show_infos: bool = False,
) -> None:
    """--loader hydra: the composed config of each entry (sdmspec.compose), rendered like any lint result."""
    from sdmspec.compose.lint_command import hydra_lint
    from sdmspec.report import ReportOptions, render

    if fix:
        raise SdmspecError("--fix and --diff edit files one by one: run them without --loader hydra")
    result = hydra_lint(
        targets, spec, config_name=config_name, overrides=overrides, select=select, ignore=ignore, spec_path=spec_path
    )
    color = output is None and output_format is OutputFormat.TEXT and sys.stdout.isatty()
    options = ReportOptions(
        show_source=show_source, color=color and "NO_COLOR" not in os.environ, show_infos=show_infos or bool(select)
    )
    _emit(render(output_format.value, result, options), output)
    raise typer.Exit(EXIT_FINDINGS if result.errors and not exit_zero else EXIT_OK)


def register(app: typer.Typer) -> None:
    app.command("lint")(lint)
