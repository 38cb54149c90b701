"""Latency: structured figures from torch.utils.benchmark, a Chrome trace and a top-operators table."""

from __future__ import annotations

import json
from pathlib import Path

from mamba_sdm.profile.counters import reference_path
from mamba_sdm.profile.latency import WARMUP_RUNS, measure_latency, write_trace
from mamba_sdm.spec import Spec


def test_latency_is_positive_and_structured(spec: Spec, tmp_path: Path) -> None:
    import torch

    from mamba_sdm.models.build import build_model

    model = build_model(spec, "130m", smoke=True, seed=0).eval()
    ids = torch.zeros(1, 16, dtype=torch.long)
    with reference_path():
        latency = measure_latency(model, ids, min_run_time=0.01, max_run_time=0.2)
        write_trace(model, ids, tmp_path / "t.json", tmp_path / "t.txt")
    assert latency.median > 0
    assert latency.iqr >= 0
    assert latency.runs >= 1 and latency.number_per_run >= 1
    assert latency.warmup_runs == WARMUP_RUNS
    assert latency.threads == torch.get_num_threads()
    assert set(latency.to_json()) >= {"median", "iqr", "runs", "threads"}

    events = json.loads((tmp_path / "t.json").read_text())["traceEvents"]
    assert any(str(event.get("name", "")).startswith("aten::") for event in events)
    table = (tmp_path / "t.txt").read_text()
    assert "aten::mm" in table and "Self CPU" in table
