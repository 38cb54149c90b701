"""Phase A starts from the released weights (here: the generated smoke checkpoint, or a folder given with
--init-from): zero optimizer steps export exactly them, both variants of a size start from the same ones, and a
wrong or missing start is refused on one line."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from job_helpers import options, read_json, run_cli
from test_job_cli import assert_one_line_error

from mamba_sdm.models.pretrained import FROM_FLAG, FROM_SMOKE, weights_digest
from mamba_sdm.models.smoke_checkpoint import ensure_smoke_checkpoint, write_smoke_checkpoint
from mamba_sdm.spec import Spec
from sdmspec.checkpoint.folders import weight_files
from sdmspec.errors import EXIT_USAGE


def _tensors(folder: Path) -> dict[str, torch.Tensor]:
    from sdmspec.checkpoint.load import load_state_dict

    return load_state_dict(folder)


def test_zero_steps_export_exactly_the_starting_weights(tmp_path: Path, smoke_data: Path, spec: Spec) -> None:
    from mamba_sdm.jobs.pretrain import run_pretrain

    record = run_pretrain(options("mamba-130m-dense", tmp_path / "out", smoke_data, max_steps=0))
    start = ensure_smoke_checkpoint(spec, "130m")
    assert record["steps"] == 0 and record["schedule"]["total_steps"] == 0
    assert record["init"] == {
        "size": "130m", "init": "pretrained", "hf_name": "state-spaces/mamba-130m-hf", "origin": FROM_SMOKE,
        "path": str(start), "digest": weights_digest(weight_files(start)),
    }  # fmt: skip
    exported, initial = _tensors(tmp_path / "out" / "model"), _tensors(start)
    assert exported.keys() == initial.keys()
    assert all(torch.equal(exported[name], initial[name]) for name in initial)


def test_zero_steps_of_sdm_export_the_starting_weights_under_the_target_masks(
    tmp_path: Path, smoke_data: Path, spec: Spec
) -> None:
    from safetensors.torch import load_file

    from mamba_sdm.jobs.pretrain import run_pretrain

    out = tmp_path / "out"
    record = run_pretrain(options("mamba-130m-sdm", out, smoke_data, max_steps=0))
    assert record["steps"] == 0 and record["sparsity"]["sparsity"] == pytest.approx(0.5, abs=1e-3)
    exported, initial = _tensors(out / "model"), _tensors(ensure_smoke_checkpoint(spec, "130m"))
    masks = load_file(str(out / "masks.safetensors"))
    assert masks and exported.keys() == initial.keys()
    for name, tensor in initial.items():
        expected = tensor * masks[name] if name in masks else tensor
        assert torch.equal(exported[name], expected), name
    # With no step taken the scores are still |w|: the mask is the starting weights' magnitude mask.
    for name, keep in masks.items():
        assert initial[name].abs()[keep].min() >= initial[name].abs()[~keep].max(), name


def test_dense_and_sdm_start_from_the_same_weights(pretrained: dict[str, Path]) -> None:
    dense, sdm = (read_json(pretrained[v] / "result.json") for v in ("mamba-130m-dense", "mamba-130m-sdm"))
    assert dense["init"] == sdm["init"] and dense["init"]["origin"] == FROM_SMOKE
    assert dense["init"]["digest"].startswith("sha256:")
    setting = dense["settings"]["training.pretrain.init"]
    assert setting["value"] == "pretrained" and setting["origin"].endswith("pretrain_sdm.yaml")


def test_the_cli_starts_from_a_sharded_folder_and_may_take_no_step(
    tmp_path: Path, smoke_data: Path, spec: Spec
) -> None:
    start = write_smoke_checkpoint(spec, "130m", tmp_path / "start", max_shard_size="40KB")
    assert (start / "model.safetensors.index.json").is_file()
    out = tmp_path / "out"
    done = run_cli(
        "job", "pretrain", "--variant", "mamba-130m-dense", "--smoke", "--data-dir", str(smoke_data),
        "--init-from", str(start), "--max-steps", "0", "--out", str(out), "--quiet",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    result = read_json(out / "result.json")
    assert result["init"]["origin"] == FROM_FLAG and result["init"]["path"] == str(start)
    assert result["init"]["digest"] == weights_digest(weight_files(start))
    exported, initial = _tensors(out / "model"), _tensors(start)
    assert all(torch.equal(exported[name], initial[name]) for name in initial)


def test_a_start_of_another_size_is_refused_before_anything_is_written(
    tmp_path: Path, smoke_data: Path, spec: Spec
) -> None:
    other = write_smoke_checkpoint(spec, "370m", tmp_path / "370m")
    out = tmp_path / "out"
    done = run_cli(
        "job", "pretrain", "--variant", "mamba-130m-sdm", "--smoke", "--data-dir", str(smoke_data),
        "--init-from", str(other), "--out", str(out),
    )  # fmt: skip
    assert_one_line_error(done, "does not describe the spec's 130m smoke model", "n_layer (num_hidden_layers) 4, "
                          "expected 2", code=EXIT_USAGE)  # fmt: skip
    assert not out.exists()


def test_nothing_cached_offline_gives_the_download_command(tmp_path: Path) -> None:
    empty = tmp_path / "hub"
    empty.mkdir()
    done = run_cli(
        "job", "pretrain", "--variant", "mamba-370m-dense", "--out", str(tmp_path / "out"),
        env={"HF_HUB_CACHE": str(empty)},
    )  # fmt: skip
    assert_one_line_error(
        done,
        "state-spaces/mamba-370m-hf",
        "not in the local Hugging Face cache",
        "`hf download state-spaces/mamba-370m-hf --local-dir checkpoints/mamba-370m-hf`",
        "pass --init-from checkpoints/mamba-370m-hf",
    )
