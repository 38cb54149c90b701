"""Corrupt files are survivable: a truncated latest checkpoint, a garbled metrics line and staging leftovers, each
made for real in the folder of a smoke job killed after step 5 (checkpoints at steps 2 and 4 kept), then a rerun."""

from __future__ import annotations

from pathlib import Path

import pytest
from job_helpers import assert_same_weights, read_events, read_json, run_cli

from fault_injection import CRASH_EXIT_CODE, environment

pytestmark = pytest.mark.slow

DENSE = "mamba-130m-dense"


def _command(out: Path, data: Path) -> list[str]:
    return ["job", "pretrain", "--variant", DENSE, "--out", str(out), "--smoke", "--data-dir", str(data)]


def _crashed(out: Path, data: Path) -> list[str]:
    command = [*_command(out, data), "--checkpoint-every", "2", "--quiet"]
    crashed = run_cli(*command, env=environment(crash_after=5))
    assert crashed.returncode == CRASH_EXIT_CODE, crashed.stderr
    assert (out / "checkpoints/latest").read_text().strip() == "step-00000004"
    return command


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


@pytest.mark.parametrize("file", ["model.safetensors", "trainer.pt"])
def test_a_truncated_latest_checkpoint_falls_back_to_the_previous_one(
    pretrained: dict[str, Path], smoke_data: Path, tmp_path: Path, file: str
) -> None:
    out = tmp_path / "job"
    command = _crashed(out, smoke_data)
    _truncate(out / "checkpoints/step-00000004" / file)
    resumed = run_cli(*command)
    assert resumed.returncode == 0, resumed.stderr
    warnings = [line for line in resumed.stderr.splitlines() if "warning" in line]
    assert len(warnings) == 1 and "Traceback" not in resumed.stderr
    assert warnings[0].startswith(f"sdmspec: warning: pretrain {DENSE}: checkpoint step-00000004 (")
    assert warnings[0].endswith("is unreadable; moved to unreadable-step-00000004; resuming from step-00000002")
    # Kept for a look, out of the rotation; the rerun saved its own step 4 (then 6, ...) in the usual way.
    assert (out / "checkpoints/unreadable-step-00000004" / file).is_file()
    assert read_json(out / "result.json")["resumed_from_step"] == 2
    assert_same_weights(out, pretrained[DENSE], atol=1e-5)


def test_no_readable_checkpoint_is_one_line_and_exit_1(smoke_data: Path, tmp_path: Path) -> None:
    out = tmp_path / "job"
    command = _crashed(out, smoke_data)
    _truncate(out / "checkpoints/step-00000004/model.safetensors")
    _truncate(out / "checkpoints/step-00000002/trainer.pt")
    failed = run_cli(*command)
    assert failed.returncode == 1 and "Traceback" not in failed.stderr
    last = failed.stderr.strip().splitlines()[-1]
    assert last.startswith(f"sdmspec: error: no checkpoint under {out / 'checkpoints'} can be read: step-00000004 (")
    assert "step-00000002 (" in last and last.endswith("to start over")


def test_a_garbled_metrics_line_is_skipped_and_reported_and_later_events_kept(
    pretrained: dict[str, Path], smoke_data: Path, tmp_path: Path
) -> None:
    out = tmp_path / "job"
    command = _crashed(out, smoke_data)
    metrics = out / "metrics.jsonl"
    lines = metrics.read_text().splitlines()
    assert '"step": 2' in lines[2]  # setup, train 1, train 2, ...
    lines[2] = lines[2][:17] + "\x00garbled"
    metrics.write_text("\n".join(lines) + "\n")
    resumed = run_cli(*command)
    assert resumed.returncode == 0, resumed.stderr
    assert f"sdmspec: warning: pretrain {DENSE}: skipped 1 unreadable line(s) in metrics.jsonl" in resumed.stderr
    total = read_json(pretrained[DENSE] / "result.json")["steps"]
    steps = [e["step"] for e in read_events(metrics) if e["event"] == "train"]
    # Only the garbled event is gone; the valid events after it (steps 3 and 4) are kept, none is logged twice.
    assert steps == [1, *range(3, total + 1)]


def test_staging_leftovers_are_removed_at_the_next_start(smoke_data: Path, tmp_path: Path) -> None:
    out = tmp_path / "job"
    command = _crashed(out, smoke_data)
    leftovers = [
        out / "checkpoints/.step-00000006.k2j3",
        out / ".model.a8f1",
        out / "checkpoints/.latest.x1y2.tmp",
        out / ".result.json.q9.tmp",
    ]
    for path in leftovers[:2]:
        path.mkdir()
        (path / "model.safetensors").write_bytes(b"half")
    for path in leftovers[2:]:
        path.write_text("half")
    resumed = run_cli(*command)
    assert resumed.returncode == 0, resumed.stderr
    assert not any(path.exists() for path in leftovers)
    assert "removed 4 staging leftover(s) of an interrupted run" in resumed.stderr
    assert (out / "checkpoints/latest").is_file() and (out / "result.json").is_file()
