"""Shell completion through typer: the script installs, and the completer knows the commands and their options."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from workflow_helpers import REPO


def _complete(shell: str, words: str, cword: int | None = None) -> list[str]:
    env = {**os.environ, "_SDMSPEC_COMPLETE": f"complete_{shell}", "COMP_WORDS": words, "_TYPER_COMPLETE_ARGS": words}
    if cword is not None:
        env["COMP_CWORD"] = str(cword)
    # The console script name decides the variable (_SDMSPEC_COMPLETE); run the app's entry point as `sdmspec`.
    code = "import sys; from sdmspec.cli.app import main; sys.argv[0] = 'sdmspec'; main()"
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=REPO, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.split()


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_show_completion_prints_a_script(shell: str) -> None:
    code = "import sys; from sdmspec.cli.app import main; sys.argv[0] = 'sdmspec'; main()"
    # Without typer's switch, --show-completion takes no value: it detects the shell from the parent processes (sh
    # under make, none at all in some CI runners) and ignores the one named here.
    env = {**os.environ, "_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION": "1"}
    result = subprocess.run(
        [sys.executable, "-c", code, "--show-completion", shell],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "_SDMSPEC_COMPLETE" in result.stdout
    assert {"bash": "complete -o", "zsh": "compdef", "fish": "complete --command sdmspec"}[shell] in result.stdout


def test_bash_completes_commands() -> None:
    assert set(_complete("bash", "sdmspec va", 1)) == {"validate", "variants"}
    assert {"env", "docs", "spec"} <= set(_complete("bash", "sdmspec ", 1))


def test_bash_completes_subcommands_and_options() -> None:
    assert set(_complete("bash", "sdmspec spec ", 2)) == {"schema", "check", "init"}
    assert {"--format", "--run-dir", "--data-dir", "--configs", "--check"} <= set(
        _complete("bash", "sdmspec validate --", 2)
    )
    assert set(_complete("bash", "sdmspec env --format ", 3)) == {"text", "json"}
