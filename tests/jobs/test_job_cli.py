"""Bad input to `sdmspec job ...`: a non-zero exit and one line on stderr, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from job_helpers import full_size_stub, run_cli

from sdmspec.errors import EXIT_FINDINGS, EXIT_USAGE


def assert_one_line_error(done: object, *fragments: str, code: int = EXIT_FINDINGS) -> None:
    returncode, stderr = done.returncode, done.stderr  # type: ignore[attr-defined]
    assert returncode == code, stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("sdmspec: error: "), stderr
    assert "Traceback" not in stderr
    for fragment in fragments:
        assert fragment in lines[0]


def test_unknown_variant(tmp_path: Path) -> None:
    done = run_cli("job", "pretrain", "--variant", "mamba-1b-sdm", "--out", str(tmp_path), "--smoke")
    assert_one_line_error(done, "unknown variant 'mamba-1b-sdm'", "mamba-130m-sdm", code=EXIT_USAGE)


def test_configs_failing_lint_are_refused_before_training(tmp_path: Path, seed_configs: Path) -> None:
    out = tmp_path / "out"
    done = run_cli(
        "job", "finetune", "--variant", "mamba-130m-dense", "--task", "sst2", "--checkpoint", str(tmp_path),
        "--out", str(out), "--smoke", "--configs", str(seed_configs),
    )  # fmt: skip
    assert_one_line_error(done, "fails lint", "refusing to train", "SDM")
    assert not out.exists()


def test_gpu_only_options_on_cpu(tmp_path: Path) -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    # An option the machine cannot honour (a device it lacks, bf16 on a CPU) is a usage error (exit 2), as in every
    # command.
    for option, code in (
        (["--device", "cuda"], EXIT_USAGE), (["--bf16"], EXIT_USAGE), (["--precision", "bf16"], EXIT_USAGE)
    ):  # fmt: skip
        done = run_cli("job", "pretrain", "--variant", "mamba-130m-dense", "--out", str(tmp_path), "--smoke", *option)
        assert_one_line_error(done, option[-1].lstrip("-"), code=code)


def test_missing_data_without_smoke_says_what_to_fetch(tmp_path: Path, smoke_data: Path) -> None:
    empty = tmp_path / "data"
    empty.mkdir()
    start = full_size_stub(tmp_path / "start")  # the starting checkpoint is checked first: give one
    done = run_cli(
        "job", "pretrain", "--variant", "mamba-130m-dense", "--out", str(tmp_path / "out"),
        "--data-dir", str(empty), "--tokenizer", str(smoke_data / "tokenizer"), "--init-from", str(start),
    )  # fmt: skip
    assert_one_line_error(done, "WikiText-103", "train.jsonl", "--smoke")


def test_missing_checkpoint_folder(tmp_path: Path) -> None:
    done = run_cli(
        "job", "challenge", "--variant", "mamba-130m-random", "--dense", str(tmp_path), "--sdm", str(tmp_path),
        "--out", str(tmp_path / "out"), "--smoke",
    )  # fmt: skip
    assert_one_line_error(done, "no Hugging Face model folder")
