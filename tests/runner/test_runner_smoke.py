"""`sdmspec run --smoke` end to end: the real jobs and CLI, every stage kind, then a rerun that reuses every stage.

To stay within the test budget the spec is cut to Mamba-130m's four variants (dense, SDM, the challenge and random
baselines: every method and both baseline builders) and two GLUE tasks (SST-2, MRPC: one metric and two); the full
smoke run (`make smoke`: 7 variants x 4 tasks, 40 stages) is the same code on more stages.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.slow

VARIANTS = ("mamba-130m-dense", "mamba-130m-sdm", "mamba-130m-challenge", "mamba-130m-random")
TASKS = ("sst2", "mrpc")


def _small_spec(repo: Path, target: Path) -> Path:
    shutil.copytree(repo / "spec", target)
    models = yaml.safe_load((target / "models.yaml").read_text())
    models["variants"] = [v for v in models["variants"] if v["name"] in VARIANTS]
    (target / "models.yaml").write_text(yaml.safe_dump(models, sort_keys=False))
    data = yaml.safe_load((target / "data.yaml").read_text())
    data["data"]["finetune"] = {task: data["data"]["finetune"][task] for task in TASKS}
    (target / "data.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    return target


def _run(repo: Path, spec: Path, out: Path) -> tuple[int, str, float]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    command = [sys.executable, "-m", "sdmspec", "run", "--smoke", "--spec", str(spec), "--out", str(out)]
    started = time.monotonic()
    done = subprocess.run(command, cwd=repo, env=env, capture_output=True, text=True, timeout=600, check=False)
    return done.returncode, done.stdout + done.stderr, time.monotonic() - started


def test_the_smoke_run_produces_every_result_and_a_rerun_reuses_them(repo: Path, tmp_path: Path) -> None:
    spec, out = _small_spec(repo, tmp_path / "spec"), tmp_path / "run"
    code, output, _ = _run(repo, spec, out)
    assert code == 0, output

    manifest = json.loads((out / "manifest.json").read_text())
    stages = manifest["stages"]
    assert len(stages) == 2 + 2 + 2 + len(VARIANTS) * len(TASKS) + 2
    assert {record["status"] for record in stages.values()} == {"done"}
    assert manifest["smoke"] is True and ("scale", "smoke") in {(d["kind"], d["name"]) for d in manifest["deviations"]}

    for baseline in ("mamba-130m-challenge", "mamba-130m-random"):
        verdict = json.loads((out / "verify" / baseline / "iso_sparsity.json").read_text())
        assert verdict["verdict"] == "match"
        sdm, challenge = verdict["checkpoints"]
        assert sdm["zeros"] == challenge["zeros"] > 0
    for variant in VARIANTS:
        for task in TASKS:
            result = json.loads((out / "finetune" / variant / task / "result.json").read_text())
            assert result["smoke"] is True and 0.0 <= result["metrics"]["val_accuracy"] <= 1.0
    profile = json.loads((out / "profile" / "profile.json").read_text())
    assert {row["variant"] for row in profile["results"]} == set(VARIANTS)
    report = (out / "report.md").read_text()
    assert "Smoke run" in report and manifest["spec_hash"] in report
    for variant in VARIANTS:
        assert f"| {variant} |" in report
    for image in ("profile/latency_vs_seq_len.png", "verify/mamba-130m-random/sparsity.png"):
        assert f"]({image})" in report and (out / image).is_file()
    # Phase A starts from the generated smoke checkpoint, the same one for both variants, as the runner found it.
    starts = [json.loads((out / "pretrain" / v / "result.json").read_text())["init"] for v in VARIANTS[:2]]
    assert starts[0] == starts[1] == stages["pretrain/mamba-130m-sdm"]["init"]
    assert starts[0]["origin"] == "generated smoke checkpoint" and starts[0]["digest"].startswith("sha256:")
    assert "## Phase A start" in report and "generated smoke checkpoint" in report
    # On a CPU every training stage computes the same way: the precision table is one line, not a row per stage.
    training = [record for record in stages.values() if record["kind"] in ("pretrain", "finetune")]
    assert f"All {len(training)} training stages: requested auto; autocast none (fp32)" in report
    assert "| finetune/mamba-130m-sdm/sst2 | auto |" not in report
    assert "Every row ran on cpu" in report and "[profile/profile.json](profile/profile.json)" in report

    code, output, seconds = _run(repo, spec, out)
    assert code == 0, output
    assert "start" not in output.split("accepted")[-1]  # nothing launched
    assert f"reused {len(stages)} finished stage(s), unchanged" in " ".join(output.split())
    assert seconds < 30
