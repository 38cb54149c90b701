"""On a GPU: the whole smoke pipeline with `--device cuda` (every job, the challenge build, verification, the
profile), and the project's one zero count on CUDA tensors. Skipped without a GPU (see tests/conftest.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from test_runner_smoke import TASKS, VARIANTS, _small_spec

pytestmark = [pytest.mark.gpu, pytest.mark.slow]


def test_the_smoke_pipeline_runs_every_job_on_cuda(repo: Path, tmp_path: Path) -> None:
    spec, out = _small_spec(repo, tmp_path / "spec"), tmp_path / "run"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    command = [sys.executable, "-m", "sdmspec", "run", "--smoke", "--device", "cuda", "--spec", str(spec)]
    done = subprocess.run(
        [*command, "--out", str(out)], cwd=repo, env=env, capture_output=True, text=True, timeout=900, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr

    manifest = json.loads((out / "manifest.json").read_text())
    assert {record["status"] for record in manifest["stages"].values()} == {"done"}
    assert manifest["acceleration"]["scan"]["device"] == "cuda"
    jobs = [out / "pretrain" / v for v in VARIANTS[:2]]
    jobs += [out / "finetune" / v / task for v in VARIANTS for task in TASKS]
    for folder in jobs:
        result = json.loads((folder / "result.json").read_text())
        assert result["device"].startswith("cuda"), folder
        assert result["scan"] in ("kernels", "parallel"), folder  # never the reference loop unasked on a GPU
        assert result["throughput"]["tokens_per_s"] > 0
    for baseline in VARIANTS[2:]:
        assert json.loads((out / "challenge" / baseline / "result.json").read_text())["device"].startswith("cuda")
        assert json.loads((out / "verify" / baseline / "iso_sparsity.json").read_text())["verdict"] == "match"
    profile = json.loads((out / "profile" / "profile.json").read_text())
    assert all(row["hardware"]["device"] == "cuda" for row in profile["results"])


def test_zeros_are_counted_on_the_gpu_like_on_the_cpu() -> None:
    import torch

    from sdmspec.checkpoint.sparsity import count_zeros

    generator = torch.Generator().manual_seed(0)
    values = torch.randn(3 * 32768 + 17, generator=generator)
    pick = torch.randperm(values.numel(), generator=generator)
    values[pick[:40000]] = 0.0
    values[pick[40000:50000]] = -0.0
    values[pick[50000:50100]] = float("nan")
    for dtype in (torch.float32, torch.bfloat16, torch.float16, torch.float64, torch.int8):
        on_cpu = values.to(dtype)
        assert count_zeros(on_cpu.cuda()) == count_zeros(on_cpu) == int((on_cpu == 0).sum())


def test_verify_sparsity_counts_on_cuda(repo: Path, tmp_path: Path) -> None:
    import torch
    from safetensors.torch import save_file

    weight = torch.randn(64, 32)
    weight[:, :8] = 0.0
    for name in ("a", "b"):
        save_file({"backbone.layers.0.mixer.in_proj.weight": weight}, str(tmp_path / f"{name}.safetensors"))
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    command = [sys.executable, "-m", "sdmspec", "verify-sparsity", str(tmp_path / "a.safetensors")]
    done = subprocess.run(
        [*command, str(tmp_path / "b.safetensors"), "--device", "cuda", "--format", "json"],
        cwd=repo, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["verdict"] == "match"
