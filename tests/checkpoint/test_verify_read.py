"""verify-sparsity says what it read (format, files, dtypes, tensors counted), takes a job's output folder, and names
what a file that is not a checkpoint is."""

from __future__ import annotations

import gzip
import json
import zipfile
from pathlib import Path

import pytest
import torch
from ckpt_factory import mamba_state, prunable_names, save, zero_fraction
from safetensors.torch import save_file

from mamba_sdm.spec import Spec
from sdmspec.checkpoint.verify import verify_iso_sparsity
from sdmspec.cli.app import main
from sdmspec.errors import CheckpointError


@pytest.fixture(scope="module")
def state() -> dict[str, torch.Tensor]:
    return zero_fraction(mamba_state(seed=1), 0.5, seed=10)


def _read(path: Path, spec: Spec) -> dict[str, object]:
    result = verify_iso_sparsity(path, path, spec)
    side = result.to_json()["checkpoints"][0]
    assert isinstance(side, dict)
    return side["read"]


def _sharded(state: dict[str, torch.Tensor], folder: Path) -> Path:
    folder.mkdir()
    names = list(state)
    halves = {"model-00001-of-00002.safetensors": names[::2], "model-00002-of-00002.safetensors": names[1::2]}
    weight_map = {}
    for shard, keys in halves.items():
        save_file({key: state[key] for key in keys}, str(folder / shard), metadata={"format": "pt"})
        weight_map.update(dict.fromkeys(keys, shard))
    (folder / "model.safetensors.index.json").write_text(json.dumps({"weight_map": weight_map}), encoding="utf-8")
    return folder


def test_each_format_is_reported(tmp_path: Path, state: dict[str, torch.Tensor], spec: Spec) -> None:
    prunable = len(prunable_names(state))
    zip_file = save(state, tmp_path / "zip.pt")
    legacy = tmp_path / "legacy.pt"
    torch.save(state, legacy, _use_new_zipfile_serialization=False)
    single = tmp_path / "model.safetensors"
    save_file(state, str(single))
    folder = tmp_path / "hf"
    folder.mkdir()
    save_file(state, str(folder / "model.safetensors"), metadata={"format": "pt"})
    sharded = _sharded(state, tmp_path / "sharded")
    expected = {
        zip_file: ("torch.save (ZIP format)", [str(zip_file)]),
        legacy: ("torch.save (legacy pickle format)", [str(legacy)]),
        single: ("safetensors", [str(single)]),
        folder: ("Hugging Face folder: safetensors", [str(folder / "model.safetensors")]),
        sharded: (
            "Hugging Face folder: safetensors, sharded over 2 file(s) by model.safetensors.index.json",
            [str(sharded / name) for name in (
                "model.safetensors.index.json", "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"
            )],
        ),
    }  # fmt: skip
    for path, (form, files) in expected.items():
        read = _read(path, spec)
        assert read == {
            "format": form,
            "files": files,
            "dtypes": ["float32"],
            "tensors_counted": prunable,
            "tensors_total": len(state),
        }, path


def test_dtypes_are_those_of_the_tensors_counted(tmp_path: Path, state: dict[str, torch.Tensor], spec: Spec) -> None:
    names = prunable_names(state)
    mixed = {
        name: tensor.to(torch.bfloat16) if name == names[0] else tensor.half() if name in names else tensor.double()
        for name, tensor in state.items()
    }
    path = tmp_path / "mixed.safetensors"
    save_file(mixed, str(path))
    # The non-prunable tensors (float64 here) are never read, so their dtype is not among those counted.
    assert _read(path, spec)["dtypes"] == ["bfloat16", "float16"]


def _run(args: list[str], capsys: pytest.CaptureFixture[str], repo: Path) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as info:
        main(["verify-sparsity", *args, "--spec", str(repo / "spec")])
    captured = capsys.readouterr()
    return int(info.value.code or 0), captured.out, captured.err


def test_a_jobs_output_folder_is_accepted_and_reported(
    tmp_path: Path, state: dict[str, torch.Tensor], capsys: pytest.CaptureFixture[str], repo: Path
) -> None:
    """As the jobs lay them out: runs/.../pretrain/mamba-130m-sdm/{model/, result.json, metrics.jsonl}."""
    job = tmp_path / "pretrain" / "mamba-130m-sdm"
    (job / "model").mkdir(parents=True)
    save_file(state, str(job / "model" / "model.safetensors"), metadata={"format": "pt"})
    (job / "result.json").write_text("{}", encoding="utf-8")
    other = save(state, tmp_path / "challenge.pt")
    code, out, _ = _run([str(job), str(other)], capsys, repo)
    assert code == 0
    counted = f"float32; {len(prunable_names(state))} of {len(state)} tensors counted"
    assert f"SDM read: Hugging Face folder: safetensors, {job / 'model' / 'model.safetensors'}; {counted}" in out
    assert f"challenge read: torch.save (ZIP format), {other}; {counted}" in out
    code, out, _ = _run([str(job), str(other), "--format", "json"], capsys, repo)
    sides = json.loads(out)["checkpoints"]
    assert sides[0]["path"] == str(job) and sides[0]["read"]["files"] == [str(job / "model" / "model.safetensors")]
    assert sides[1]["read"]["format"] == "torch.save (ZIP format)"


def _zip_not_torch(path: Path) -> None:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("notes.txt", "hello")


def _truncated_torch(path: Path) -> None:
    whole = save({"w": torch.zeros(64)}, path.with_suffix(".full")).read_bytes()
    path.write_bytes(whole[: len(whole) // 2])


NOT_CHECKPOINTS = {
    "yaml": (lambda p: p.write_text("training:\n  lr: 2e-4\n  epochs: [1, 2]\n"), "a YAML file"),
    "json": (lambda p: p.write_text('{"weight_map": {}}'), "a JSON file"),
    "text": (lambda p: p.write_text("These are the weights, I promise.\n"), "a text file"),
    "empty": (lambda p: p.write_bytes(b""), "an empty file"),
    "zip": (_zip_not_torch, "a ZIP archive that is not a torch checkpoint"),
    "gzip": (lambda p: p.write_bytes(gzip.compress(b"weights")), "a gzip file"),
    "binary": (lambda p: p.write_bytes(bytes(range(256)) * 4), "a binary file of unknown format"),
    "truncated": (_truncated_torch, "a torch checkpoint cut short or damaged"),
}


@pytest.mark.parametrize("kind", list(NOT_CHECKPOINTS))
def test_a_file_that_is_not_a_checkpoint_is_named(
    kind: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], repo: Path, state: dict[str, torch.Tensor]
) -> None:
    write, description = NOT_CHECKPOINTS[kind]
    path = tmp_path / "model.pt"
    write(path)
    good = save(state, tmp_path / "good.pt")
    code, out, err = _run([str(good), str(path)], capsys, repo)
    assert code == 2 and out == ""
    (line,) = err.strip().splitlines()
    assert line.startswith(f"sdmspec: error: {path}: not a readable ")
    assert f": it is {description}" in line
    if kind == "truncated":
        assert line.startswith(f"sdmspec: error: {path}: not a readable torch checkpoint: it is {description} (")
    else:
        assert line == f"sdmspec: error: {path}: not a readable checkpoint: it is {description}"


def test_a_safetensors_suffix_on_another_file_is_named(tmp_path: Path, spec: Spec) -> None:
    path = tmp_path / "model.safetensors"
    path.write_text("version: 1\nlayers: [a, b]\n")
    with pytest.raises(CheckpointError, match=r"not a readable checkpoint: it is a YAML file$"):
        verify_iso_sparsity(path, path, spec)


def test_a_folder_with_neither_weights_nor_model_folder(tmp_path: Path, spec: Spec) -> None:
    (tmp_path / "model").mkdir()
    with pytest.raises(CheckpointError, match=r"nor a model/ folder holding one"):
        verify_iso_sparsity(tmp_path, tmp_path, spec)
