"""Helpers for the job tests: job options on generated data, reading outputs, running the CLI as the runner does."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import sdmspec_cli

REPO = Path(__file__).resolve().parents[2]
CONFIGS = REPO / "configs"


def options(variant: str, out: Path, data: Path, **extra: Any) -> Any:
    from mamba_sdm.jobs.common import JobOptions

    return JobOptions(variant=variant, out=out, configs=CONFIGS, smoke=True, data_dir=data, **extra)


def read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def read_events(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def run_cli(*args: str, env: dict[str, str] | None = None, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """``python -m sdmspec ARGS`` in the repo, offline, as the runner launches jobs."""
    return sdmspec_cli.run_sdmspec(*args, env=env, timeout=timeout)


def full_size_stub(folder: Path, size: str = "130m") -> Path:
    """A starting folder with the spec's full-size config.json and a tiny weights file: found and checked as the
    released checkpoint would be (a job refusing for another reason gets that far), never trained from."""
    import torch
    from safetensors.torch import save_file

    from mamba_sdm.models.build import dimensions, mamba_config
    from sdmspec.schema import load_spec

    folder.mkdir(parents=True, exist_ok=True)
    mamba_config(dimensions(load_spec(REPO / "spec").models[size])).save_pretrained(str(folder))
    save_file({"w": torch.zeros(1)}, str(folder / "model.safetensors"))
    return folder


def final_weights(out: Path) -> dict[str, object]:
    from safetensors.torch import load_file

    return dict(load_file(str(out / "model" / "model.safetensors")))


def assert_same_weights(a: Path, b: Path, *, atol: float) -> None:
    import torch

    first, second = final_weights(a), final_weights(b)
    assert first.keys() == second.keys()
    for name in first:
        torch.testing.assert_close(first[name], second[name], rtol=0, atol=atol, msg=name)
