"""A smoke pre-training gives the same metrics, masks and sparsity on the parallel and the reference scan, and
records which one ran (and why) in metrics.jsonl and result.json, with its throughput."""

from __future__ import annotations

from pathlib import Path

import pytest
from job_helpers import options, read_events, read_json


@pytest.mark.slow
def test_smoke_pretraining_is_the_same_on_both_scan_paths(tmp_path: Path, smoke_data: Path) -> None:
    from safetensors.torch import load_file

    from mamba_sdm.jobs.pretrain import run_pretrain

    records = {}
    for scan in ("reference", "parallel"):
        out = tmp_path / scan
        records[scan] = run_pretrain(options("mamba-130m-sdm", out, smoke_data, scan=scan, max_steps=6))
    reference, parallel = records["reference"], records["parallel"]
    assert reference["scan"] == "reference" and parallel["scan"] == "parallel"
    assert parallel["scan_requested"] == "parallel" and "mambapy" in parallel["scan_reason"]
    assert parallel["activation_checkpointing"]["enabled"] is False

    def train_losses(scan: str) -> list[float]:
        return [e["loss"] for e in read_events(tmp_path / scan / "metrics.jsonl") if e["event"] == "train"]

    assert len(train_losses("parallel")) == 6
    assert train_losses("parallel") == pytest.approx(train_losses("reference"), rel=1e-4)
    for key in ("val_loss", "val_ppl", "train_loss_last"):
        assert parallel["metrics"][key] == pytest.approx(reference["metrics"][key], rel=1e-4)
    assert parallel["sparsity"] == reference["sparsity"]
    masks = {scan: load_file(str(tmp_path / scan / "masks.safetensors")) for scan in records}
    assert masks["parallel"].keys() == masks["reference"].keys()
    differing = [name for name in masks["parallel"] if not masks["parallel"][name].equal(masks["reference"][name])]
    assert differing == []

    setup = [e for e in read_events(tmp_path / "parallel" / "metrics.jsonl") if e["event"] == "setup"]
    assert len(setup) == 1 and setup[0]["scan"] == "parallel"
    result = read_json(tmp_path / "parallel" / "result.json")
    assert result["scan"] == "parallel" and result["throughput"]["tokens_per_s"] > 0


def test_throughput_is_logged_and_projected(
    tmp_path: Path, smoke_data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from mamba_sdm.jobs.pretrain import run_pretrain

    run_pretrain(options("mamba-130m-dense", tmp_path / "dense", smoke_data, max_steps=6))
    events = read_events(tmp_path / "dense" / "metrics.jsonl")
    projection = [e for e in events if e["event"] == "throughput"]
    assert len(projection) == 1 and projection[0]["tokens_per_s"] > 0
    # Step 1 is not timed (warm-up); three timed steps later the projection is announced, for the 2 steps left.
    assert projection[0]["step"] == 4
    assert projection[0]["eta_s"] == pytest.approx(2 * projection[0]["step_s"], abs=2e-3)
    trains = [e for e in events if e["event"] == "train"]
    assert "tokens_per_s" not in trains[0] and all("eta_s" in e for e in trains[1:])
    assert trains[-1]["eta_s"] == 0
    printed = capsys.readouterr().err
    assert "pretrain mamba-130m-dense: " in printed and "tokens/s" in printed and "2 steps left" in printed
