"""The documentation site builds strictly (broken links and anchors fail it), its reference pages are the code's, and
its start page and a rule page render with their content in a real browser (headless Chromium)."""

from __future__ import annotations

import inspect
import os
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

from sdmspec.cli.app import commands
from sdmspec.errors import EXIT_MEANINGS
from sdmspec.lint.rules import RULES
from sdmspec_cli import REPO

pytest.importorskip("mkdocs", reason="the site needs the docs extra (mkdocs, mkdocs-material)")
pytest.importorskip("material", reason="the site needs the docs extra (mkdocs, mkdocs-material)")

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


class _Text(HTMLParser):
    """The text inside the page's <article> (Material's content area), and the <h1>s found there."""

    def __init__(self) -> None:
        super().__init__()
        self.depth = 0
        self.parts: list[str] = []
        self.headings: list[str] = []
        self._in_h1 = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "article":
            self.depth += 1
        self._in_h1 = self._in_h1 or (tag == "h1" and self.depth > 0)
        if self._in_h1 and tag == "h1":
            self.headings.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "article":
            self.depth -= 1
        if tag == "h1" and self._in_h1:
            self._in_h1 = False
            self.headings[-1] = self.headings[-1].rstrip("\u00b6")  # the heading's permalink sign

    def handle_data(self, data: str) -> None:
        if self.depth > 0:
            self.parts.append(data)
            if self._in_h1:
                self.headings[-1] += data

    @property
    def text(self) -> str:
        return " ".join("".join(self.parts).split())


def _article(html: str) -> _Text:
    parser = _Text()
    parser.feed(html)
    return parser


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("site")
    built = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
        cwd=REPO,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert built.returncode == 0, built.stderr
    return out


def test_every_rule_has_its_page_made_from_its_docstring(site: Path) -> None:
    for code, rule in RULES.items():
        page = _article((site / "rules" / rule.NAME / "index.html").read_text(encoding="utf-8"))
        assert page.headings == [f"{code} {rule.NAME}"]
        # The docstring's last paragraph (the fix, or the example's explanation) is on the page, word for word.
        last = " ".join(inspect.cleandoc(rule.__doc__ or "").split("\n\n")[-1].split())
        assert last.replace("`", "")[:60] in page.text.replace("`", "")
    index = _article((site / "rules" / "index.html").read_text(encoding="utf-8")).text
    assert all(code in index for code in RULES)


def test_the_cli_reference_lists_every_command_and_the_exit_codes_every_code(site: Path) -> None:
    cli = _article((site / "reference" / "cli" / "index.html").read_text(encoding="utf-8")).text
    for command in commands():
        assert f"sdmspec {command}" in cli
    assert "--unsafe-fixes" in cli and "--per-layer" in cli
    codes = _article((site / "reference" / "exit-codes" / "index.html").read_text(encoding="utf-8")).text
    for code, meaning in EXIT_MEANINGS.items():
        assert " ".join(meaning.replace("`", "").split())[:50] in codes
        assert str(code) in codes
    assert "DiskFullError" in codes and "JobError" in codes and "Interrupted" in codes


def _render(page: Path, tmp_path: Path) -> str:
    """The page's DOM after Chromium loaded it and ran its scripts."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("needs Debian's chromium package (apt-get install chromium; .ci/run installs it)")
    profile = tmp_path / f"profile-{page.parent.name}"
    profile.mkdir()
    shown = subprocess.run(
        [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--dump-dom", page.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert shown.returncode == 0, shown.stderr[-2000:]
    return shown.stdout


def test_the_start_page_renders_with_its_content_and_navigation(site: Path, tmp_path: Path) -> None:
    dom = _render(site / "index.html", tmp_path)
    page = _article(dom)
    assert page.headings == ["sdmspec"]
    assert "sdmspec lint [PATHS]" in page.text and "Where to go next" in page.text
    for section in ("Getting started", "Rules", "SDM101 float-as-string", "CLI", "Exit codes", "Benchmarks"):
        assert section in dom  # the navigation, every part of the site


def test_a_rule_page_renders_with_its_example(site: Path, tmp_path: Path) -> None:
    rule = RULES["SDM101"]
    built = site / "rules" / rule.NAME / "index.html"
    dom = _render(built, tmp_path)
    page = _article(dom)
    # Material's scripts ran in the browser: the built page's <html class="no-js"> is "js" once they have.
    assert '<html lang="en" class="no-js">' in built.read_text(encoding="utf-8")
    assert re.search(r'<html lang="en" class="[^"]*\bjs\b', dom) and "no-js" not in dom
    assert page.headings == ["SDM101 float-as-string"]
    assert "Default severity: warning" in page.text
    assert 'learning_rate: 2e-4 # the string "2e-4"' in page.text  # the docstring's example, as a code block
