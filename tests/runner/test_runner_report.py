"""report.md says once what every row of a table would repeat, and keeps a table where the rows differ."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from mamba_sdm.run_report import render_report
from sdmspec.cli.app import main
from sdmspec.errors import EXIT_OK, EXIT_USAGE

CPU = {"requested": "auto", "autocast": None, "tf32": False, "reason": "auto: fp32 on cpu"}


def _run_folder(tmp_path: Path, precisions: dict[str, dict[str, Any]]) -> Path:
    stages = {
        name: {"name": name, "kind": name.split("/")[0], "status": "done", "precision": precision,
               "marker": str(tmp_path / name / "result.json")}  # no result.json: the manifest's record is used
        for name, precision in precisions.items()
    }  # fmt: skip
    (tmp_path / "manifest.json").write_text(json.dumps({"stages": stages, "smoke": True}))
    return tmp_path


def _training_stages(count: int) -> list[str]:
    return [f"pretrain/v{i}" for i in range(2)] + [f"finetune/v{i % 2}/task{i}" for i in range(count - 2)]


def test_a_precision_table_whose_rows_all_agree_is_one_line(tmp_path: Path) -> None:
    report = render_report(_run_folder(tmp_path, dict.fromkeys(_training_stages(32), CPU)))
    precision = report.split("## Precision", 1)[1].split("\n## ", 1)[0]
    line = "All 32 training stages: requested auto; autocast none (fp32); TF32 matmuls False; why auto: fp32 on cpu."
    assert line in precision
    assert "| stage |" not in precision and "pretrain/v0" not in precision


def test_a_precision_table_with_one_different_row_keeps_every_row(tmp_path: Path) -> None:
    precisions = dict.fromkeys(_training_stages(4), CPU)
    precisions["pretrain/v1"] = {"requested": "bf16", "autocast": "bf16", "tf32": True, "reason": "bf16 on an H100"}
    report = render_report(_run_folder(tmp_path, precisions))
    assert "All 4" not in report
    assert "| pretrain/v1 | bf16 | bf16 | True | bf16 on an H100 |" in report
    assert "| pretrain/v0 | auto | none (fp32) | False | auto: fp32 on cpu |" in report


def test_two_rows_that_agree_are_both_said_once(tmp_path: Path) -> None:
    report = render_report(_run_folder(tmp_path, dict.fromkeys(_training_stages(2), CPU)))
    assert "Both training stages: requested auto; autocast none (fp32)" in report and "| pretrain/v0 |" not in report


def test_the_report_links_the_manifest_it_was_made_from(tmp_path: Path) -> None:
    report = render_report(_run_folder(tmp_path, {"pretrain/v0": CPU}))
    assert "[manifest.json](manifest.json)" in report
    assert "| pretrain/v0 | auto | none (fp32) | False | auto: fp32 on cpu |" in report  # one row: still a table


def test_the_report_is_a_command_under_the_one_error_handler(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = _run_folder(tmp_path, dict.fromkeys(_training_stages(3), CPU))
    with pytest.raises(SystemExit) as caught:
        main(["job", "report", "--out", str(out)])
    assert caught.value.code == EXIT_OK and (out / "report.md").read_text() == render_report(out.resolve())
    assert capsys.readouterr().out == f"wrote {out.resolve() / 'report.md'}\n"
    with pytest.raises(SystemExit) as caught:  # bad input: one line, exit 2, as for every command
        main(["job", "report", "--out", str(out / "manifest.json")])
    assert caught.value.code == EXIT_USAGE
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith("sdmspec: error: ") and "is a file, not a folder" in err[0]
