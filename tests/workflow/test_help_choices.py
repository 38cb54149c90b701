"""`--help` shows each option's choices and the real defaults, never a bare ``<str>`` for an option with choices."""

from __future__ import annotations

import re

import pytest

from mamba_sdm.jobs.common import CHECKPOINT_EVERY, LOG_EVERY, SMOKE_LOG_EVERY
from sdmspec.cli.app import commands
from sdmspec_cli import run_sdmspec

CHOICES = {
    "--device": "[auto|cpu|cuda]",
    "--scan": "[auto|kernels|parallel|reference]",
    "--precision": "[auto|bf16|fp32]",
    "--activation-checkpointing": "[auto|on|off]",
    "--launcher": "[local|torchrun|slurm]",
    "--report-to": "[tensorboard|mlflow|wandb]",
}


def _help(*command: str) -> str:
    done = run_sdmspec(*command, "--help", env={"COLUMNS": "250", "NO_COLOR": "1", "TERM": "dumb"})
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.parametrize(
    "command",
    [("job", "pretrain"), ("job", "finetune"), ("job", "challenge"), ("run",), ("profile",), ("eval",),
     ("validate",), ("verify-sparsity",)],
)  # fmt: skip
def test_options_with_choices_show_them(command: tuple[str, ...]) -> None:
    assert set(command[:1]) <= set(commands())
    text = _help(*command)
    shown = 0
    for option, choices in CHOICES.items():
        line = next((line for line in text.splitlines() if re.search(rf"{option}\b", line)), None)
        if line is None:
            continue
        assert choices in line and "<str>" not in line, line
        shown += 1
    assert shown, f"no option with choices in `{' '.join(command)} --help`"


def test_job_help_gives_the_real_defaults_of_logging_and_checkpoints() -> None:
    text = " ".join(_help("job", "pretrain").split())
    assert f"(default {LOG_EVERY}; {SMOKE_LOG_EVERY} with --smoke)" in text
    assert f"(default {CHECKPOINT_EVERY})" in text
