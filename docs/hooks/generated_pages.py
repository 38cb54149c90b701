"""mkdocs hook: the pages that describe code are generated from it at build time, so they cannot drift.

* ``rules/<name>.md``, one per lint rule, and ``rules/index.md``: each rule module's docstring (what ``sdmspec lint
  --explain`` prints), its code, name and default severity, from ``sdmspec.lint.rules.RULES``;
* ``reference/cli.md``: typer's own Markdown generator (what ``typer ... utils docs`` writes) over the real app;
* ``reference/exit-codes.md``: ``sdmspec.errors.EXIT_MEANINGS`` and the exception classes carrying each code;
* ``changelog.md`` and ``contributing.md``: the repository's CHANGELOG.md and CONTRIBUTING.md, as they are.

Nothing is written into ``docs/``: the files exist only in the build (mkdocs' ``File.generated``).
"""

from __future__ import annotations

import inspect
import re
from pathlib import Path
from typing import Any

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.structure.files import File, Files

ROOT = Path(__file__).resolve().parents[2]
RULES_NAV_TITLE = "Rules"
# A reST literal block (a paragraph ending in "::", then an indented block): the rule docstrings' example form.
LITERAL = re.compile(r"::\n\n((?:(?:[ \t]+.*)?\n)+)")


def _rules() -> dict[str, Any]:
    from sdmspec.lint.rules import RULES

    return dict(RULES)


def rule_page_path(rule: Any) -> str:
    return f"rules/{rule.NAME}.md"


def docstring_markdown(doc: str) -> str:
    """A rule docstring as Markdown: its reST literal blocks become fenced YAML blocks, the rest is Markdown already."""

    def fence(match: re.Match[str]) -> str:
        block = inspect.cleandoc(match.group(1))
        return f":\n\n```yaml\n{block}\n```\n\n"

    return LITERAL.sub(fence, inspect.cleandoc(doc) + "\n").rstrip() + "\n"


def rule_page(rule: Any) -> str:
    summary, _, body = docstring_markdown(rule.__doc__ or "").partition("\n")
    summary = summary.split(":", 1)[1].strip() if ":" in summary else summary
    summary = summary[:1].upper() + summary[1:]
    return (
        f"# {rule.CODE} {rule.NAME}\n\n"
        f"**{summary}**\n\n"
        f"Default severity: **{rule.SEVERITY.value}**. Select or ignore it by code (`{rule.CODE}`), prefix "
        f"(`{rule.CODE[:4]}`) or name (`{rule.NAME}`); `sdmspec lint --explain {rule.CODE}` prints this page.\n\n"
        f"{body.strip()}\n"
    )


def rules_index() -> str:
    from sdmspec.lint import rules as package
    from sdmspec.lint.rules import rule_summary

    rows = "\n".join(
        f"| [{code}]({rule.NAME}.md) | `{rule.NAME}` | {rule.SEVERITY.value} | {rule_summary(rule)} |"
        for code, rule in _rules().items()
    )
    bands = docstring_markdown(package.__doc__ or "").split("\n", 2)[2]
    return (
        "# Lint rules\n\n"
        "Every rule of `sdmspec lint`, generated from the rule modules (`src/sdmspec/lint/rules/`): a rule's page is "
        "its module's docstring.\n\n"
        f"{bands.strip()}\n\n"
        "| code | name | default severity | what it finds |\n|---|---|---|---|\n"
        f"{rows}\n"
    )


def cli_reference() -> str:
    import typer.main
    from typer.cli import get_docs_for_click

    from sdmspec.cli.app import build_app

    command = typer.main.get_command(build_app())
    docs = get_docs_for_click(obj=command, ctx=typer.Context(command), name="sdmspec", title="CLI reference")
    intro = (
        "Every command and option, generated from the typer app (`sdmspec.cli.app`) by typer's own documentation "
        "generator. `sdmspec COMMAND --help` prints the same. Exit codes: [the table](exit-codes.md).\n\n"
    )
    title, _, rest = docs.partition("\n\n")
    return f"{title}\n\n{intro}{rest.strip()}\n"


def exit_codes() -> str:
    from sdmspec import errors

    carriers: dict[int, list[str]] = {}
    stack = [errors.SdmspecError]
    while stack:
        cls = stack.pop(0)
        summary = inspect.cleandoc(cls.__doc__ or "").split("\n\n")[0].replace("\n", " ")
        carriers.setdefault(cls.exit_code, []).append(f"`{cls.__name__}` ({summary.rstrip('.')})")
        stack.extend(cls.__subclasses__())
    rows = "\n".join(
        f"| **{code}** | {meaning} | {'; '.join(carriers.get(code, [])) or '-'} |"
        for code, meaning in errors.EXIT_MEANINGS.items()
    )
    return (
        "# Exit codes\n\n"
        "The same for every command, generated from `sdmspec.errors`: each code's meaning (`EXIT_MEANINGS`) and the "
        "exceptions that carry it. Errors are one line on stderr (`sdmspec: error: ...`), never a traceback.\n\n"
        "| code | meaning | raised as |\n|---|---|---|\n"
        f"{rows}\n\n"
        "A full disk is one line too, naming the path, the space the write needed and what is free there (`no space "
        "left on device writing OUT/manifest.json (needs 48.2 KiB; 0 B free on that filesystem)`); the half-written "
        "temporary file is removed.\n"
    )


def _repository_file(name: str) -> str:
    # Links in these files are repository paths; on the site, docs/ is the root and the pair's pages sit side by side.
    text = (ROOT / name).read_text(encoding="utf-8").replace("](docs/", "](")
    return text.replace("(CHANGELOG.md)", "(changelog.md)").replace("(CONTRIBUTING.md)", "(contributing.md)")


def generated() -> dict[str, str]:
    """Every generated page, path under docs/ -> Markdown."""
    pages = {rule_page_path(rule): rule_page(rule) for rule in _rules().values()}
    pages["rules/index.md"] = rules_index()
    pages["reference/cli.md"] = cli_reference()
    pages["reference/exit-codes.md"] = exit_codes()
    pages["changelog.md"] = _repository_file("CHANGELOG.md")
    pages["contributing.md"] = _repository_file("CONTRIBUTING.md")
    return pages


def on_config(config: MkDocsConfig) -> MkDocsConfig:
    """List each rule page under the nav's "Rules" entry, in the registry's order."""
    rule_pages: list[Any] = [{f"{code} {rule.NAME}": rule_page_path(rule)} for code, rule in _rules().items()]
    for section in config.nav or []:
        if isinstance(section, dict) and RULES_NAV_TITLE in section:
            section[RULES_NAV_TITLE] = [{"All rules": "rules/index.md"}, *rule_pages]
    return config


def on_files(files: Files, config: MkDocsConfig) -> Files:
    for path, content in generated().items():
        files.append(File.generated(config, path, content=content))
    return files
