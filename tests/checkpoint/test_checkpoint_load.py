"""open_checkpoint / load_state_dict: every format, canonical names, masks resolved, and nothing unsafe is run."""

from __future__ import annotations

import builtins
import json
import pickle
from pathlib import Path

import pytest
import torch
from ckpt_factory import mamba_state, prunable_names, save, zero_fraction
from safetensors.torch import save_file

from mamba_sdm.spec import Spec
from sdmspec.checkpoint.load import checkpoint_sparsity, load_state_dict, open_checkpoint
from sdmspec.checkpoint.sparsity import count_sparsity
from sdmspec.errors import CheckpointError

IN_PROJ = "backbone.layers.0.mixer.in_proj.weight"


@pytest.fixture(scope="module")
def sparse() -> dict[str, torch.Tensor]:
    return zero_fraction(mamba_state(seed=1), 0.5, seed=2)


def _same_tensors(loaded: dict[str, torch.Tensor], expected: dict[str, torch.Tensor]) -> None:
    assert list(loaded) == list(expected)
    for name, tensor in expected.items():
        assert torch.equal(loaded[name], tensor), name


@pytest.mark.parametrize(
    "wrap",
    [
        lambda sd: sd,
        lambda sd: {"state_dict": sd, "epoch": 3, "optimizer": {"lr": 1e-3}},
        lambda sd: {"model": sd, "step": 10},
        lambda sd: {f"module.{name}": tensor for name, tensor in sd.items()},
        lambda sd: {"state_dict": {f"module.{name}": tensor for name, tensor in sd.items()}},
    ],
    ids=["plain", "state_dict", "model", "ddp-prefix", "wrapped-ddp"],
)
def test_torch_files_load_under_canonical_names(tmp_path: Path, sparse: dict[str, torch.Tensor], wrap) -> None:
    path = save(wrap(sparse), tmp_path / "ckpt.pt")
    _same_tensors(load_state_dict(path), sparse)


def test_legacy_non_zip_torch_file_loads(tmp_path: Path, sparse: dict[str, torch.Tensor]) -> None:
    path = tmp_path / "legacy.pth"
    torch.save(sparse, path, _use_new_zipfile_serialization=False)
    _same_tensors(load_state_dict(path), sparse)


def test_safetensors_file_is_read_tensor_by_tensor(tmp_path: Path, sparse: dict[str, torch.Tensor]) -> None:
    path = tmp_path / "model.safetensors"
    save_file(sparse, str(path))
    with open_checkpoint(path) as reader:
        assert reader.shape(IN_PROJ) == tuple(sparse[IN_PROJ].shape)
        assert torch.equal(reader.get(IN_PROJ), sparse[IN_PROJ])
        assert sorted(reader.names()) == sorted(sparse)


def test_hf_folder_single_files(tmp_path: Path, sparse: dict[str, torch.Tensor]) -> None:
    st_folder, bin_folder = tmp_path / "st", tmp_path / "bin"
    st_folder.mkdir()
    bin_folder.mkdir()
    save_file(sparse, str(st_folder / "model.safetensors"))
    save(sparse, bin_folder / "pytorch_model.bin")
    assert load_state_dict(st_folder).keys() == sparse.keys()
    _same_tensors(load_state_dict(bin_folder), sparse)


@pytest.mark.parametrize("kind", ["safetensors", "bin"])
def test_sharded_hf_folder_with_index(tmp_path: Path, sparse: dict[str, torch.Tensor], kind: str) -> None:
    names = list(sparse)
    halves = {f"shard-1.{kind}": names[: len(names) // 2], f"shard-2.{kind}": names[len(names) // 2 :]}
    for shard, shard_names in halves.items():
        part = {name: sparse[name] for name in shard_names}
        save_file(part, str(tmp_path / shard)) if kind == "safetensors" else save(part, tmp_path / shard)
    index = {"metadata": {}, "weight_map": {name: shard for shard, ns in halves.items() for name in ns}}
    index_name = "model.safetensors.index.json" if kind == "safetensors" else "pytorch_model.bin.index.json"
    (tmp_path / index_name).write_text(json.dumps(index))
    loaded = load_state_dict(tmp_path)
    assert sorted(loaded) == sorted(sparse)
    assert all(torch.equal(loaded[name], sparse[name]) for name in sparse)


def test_hf_folder_written_by_save_pretrained_sharded(tmp_path: Path, spec: Spec) -> None:
    from mamba_sdm.models.build import build_model

    model = build_model(spec, "130m", smoke=True, seed=0)
    model.save_pretrained(tmp_path, max_shard_size="100KB")
    assert (tmp_path / "model.safetensors.index.json").is_file()
    counted, _ = checkpoint_sparsity(tmp_path, spec.sparsity)
    from sdmspec.checkpoint.sparsity import model_sparsity

    assert counted == model_sparsity(model, spec.sparsity)


def test_index_naming_a_file_outside_its_folder_is_refused(tmp_path: Path) -> None:
    (tmp_path / "model.safetensors.index.json").write_text(json.dumps({"weight_map": {"w": "../../etc/passwd"}}))
    with pytest.raises(CheckpointError, match="outside the checkpoint folder"):
        load_state_dict(tmp_path)


def test_mamba_ssm_names_become_hf_names(tmp_path: Path, sparse: dict[str, torch.Tensor]) -> None:
    mamba_ssm = {name.replace("backbone.embeddings.", "backbone.embedding."): t for name, t in sparse.items()}
    assert "backbone.embedding.weight" in mamba_ssm
    _same_tensors(load_state_dict(save(mamba_ssm, tmp_path / "m.pt")), sparse)


def test_prune_reparametrization_counts_the_effective_weight(tmp_path: Path, spec: Spec) -> None:
    # orig is non-zero where the mask is 0 (pruned: counted) and 0 where the mask is 1 (a zero weight: counted too).
    orig = torch.tensor([[0.0, 1.0], [2.0, 3.0]])
    mask = torch.tensor([[1.0, 0.0], [1.0, 1.0]])
    state = {"backbone.layers.0.mixer.out_proj.weight_orig": orig, "backbone.layers.0.mixer.out_proj.weight_mask": mask}
    with open_checkpoint(save(state, tmp_path / "p.pt")) as reader:
        assert reader.names() == ["backbone.layers.0.mixer.out_proj.weight"]
        assert torch.equal(reader.get("backbone.layers.0.mixer.out_proj.weight"), orig * mask)
    counted, _ = checkpoint_sparsity(tmp_path / "p.pt", spec.sparsity)
    assert counted.zeros == 2


def test_prune_on_a_real_model_counts_as_the_live_model_and_after_remove(tmp_path: Path, spec: Spec) -> None:
    from torch.nn.utils import prune

    from mamba_sdm.models.build import build_model
    from sdmspec.checkpoint.sparsity import model_sparsity

    model = build_model(spec, "130m", smoke=True, seed=0)
    for layer in model.backbone.layers:
        for proj in ("in_proj", "x_proj", "dt_proj", "out_proj"):
            prune.l1_unstructured(getattr(layer.mixer, proj), "weight", amount=0.3)
    state = model.state_dict()
    assert "backbone.layers.0.mixer.in_proj.weight_mask" in state
    live = model_sparsity(model, spec.sparsity)
    from_file, _ = checkpoint_sparsity(save(state, tmp_path / "pruned.pt"), spec.sparsity)
    for layer in model.backbone.layers:
        for proj in ("in_proj", "x_proj", "dt_proj", "out_proj"):
            prune.remove(getattr(layer.mixer, proj), "weight")
    removed, _ = checkpoint_sparsity(save(model.state_dict(), tmp_path / "removed.pt"), spec.sparsity)
    assert from_file == live == removed
    assert from_file.zeros > 0


def test_parametrize_with_a_saved_mask_is_applied(tmp_path: Path) -> None:
    base = "backbone.layers.0.mixer.in_proj."
    state = {
        f"{base}parametrizations.weight.original": torch.ones(4, 4),
        f"{base}parametrizations.weight.0.mask": torch.eye(4),
    }
    with open_checkpoint(save(state, tmp_path / "p.pt")) as reader:
        assert reader.names() == [f"{base}weight"]
        assert torch.equal(reader.get(f"{base}weight"), torch.eye(4))
        assert reader.warnings == ()


def test_ao_pruning_without_a_saved_mask_reads_the_original_and_warns(tmp_path: Path) -> None:
    from torch.ao.pruning.sparsifier.utils import FakeSparsity
    from torch.nn.utils import parametrize

    linear = torch.nn.Linear(4, 4)
    parametrize.register_parametrization(linear, "weight", FakeSparsity(torch.eye(4)))
    state = {f"backbone.layers.0.mixer.out_proj.{key}": value for key, value in linear.state_dict().items()}
    with open_checkpoint(save(state, tmp_path / "ao.pt")) as reader:
        assert "backbone.layers.0.mixer.out_proj.weight" in reader.names()
        assert any("without a saved mask" in warning for warning in reader.warnings)


def test_two_tensors_with_one_canonical_name_are_refused(tmp_path: Path) -> None:
    state = {IN_PROJ: torch.ones(2), f"module.{IN_PROJ}": torch.ones(2)}
    with pytest.raises(CheckpointError, match="two tensors map to"):
        load_state_dict(save(state, tmp_path / "dup.pt"))


def test_bf16_negative_zeros_are_zeros(tmp_path: Path, spec: Spec) -> None:
    weight = torch.tensor([[-0.0, 0.0, 1.5], [-0.0, -2.0, 0.0]], dtype=torch.bfloat16)
    assert torch.signbit(weight).sum() == 3  # the negative zeros survived
    path = tmp_path / "bf16.safetensors"
    save_file({IN_PROJ: weight}, str(path))
    counted, _ = checkpoint_sparsity(path, spec.sparsity)
    assert (counted.numel, counted.zeros) == (6, 4)


def test_streaming_progress_reaches_the_prunable_total(tmp_path: Path, spec: Spec, sparse) -> None:
    calls: list[tuple[int, int]] = []
    path = save(sparse, tmp_path / "a.pt")
    counted, _ = checkpoint_sparsity(path, spec.sparsity, lambda done, total: calls.append((done, total)))
    assert len(calls) == len(prunable_names(sparse))
    assert calls[-1] == (counted.numel, counted.numel)
    assert counted == count_sparsity(sparse.items(), spec.sparsity)


class _CreatesAFile:
    def __init__(self, target: Path) -> None:
        self.target = target

    def __reduce__(self):
        return (builtins.open, (str(self.target), "w"))


@pytest.mark.parametrize("writer", ["torch.save", "pickle.dump"])
def test_a_pickle_that_would_run_code_is_refused_and_never_runs(tmp_path: Path, writer: str) -> None:
    target = tmp_path / "pwned"
    payload = {IN_PROJ: torch.zeros(2), "evil": _CreatesAFile(target)}
    path = tmp_path / "evil.pt"
    if writer == "torch.save":
        torch.save(payload, path)
    else:
        with path.open("wb") as handle:
            pickle.dump(payload, handle)
    assert not target.exists()
    with pytest.raises(CheckpointError, match="refused") as info:
        load_state_dict(path)
    assert "\n" not in str(info.value)
    assert not target.exists()


@pytest.mark.parametrize(
    ("content", "match"),
    [
        (None, "no such file"),
        (b"", "not a readable"),
        (b"hello world", "not a readable"),
        ("truncate", "not a readable"),
    ],
    ids=["missing", "empty", "garbage", "truncated"],
)
def test_unreadable_files_raise_one_line_checkpoint_errors(tmp_path: Path, sparse, content, match: str) -> None:
    path = tmp_path / "bad.pt"
    if content == "truncate":
        data = save(sparse, tmp_path / "full.pt").read_bytes()
        path.write_bytes(data[: len(data) // 2])
    elif content is not None:
        path.write_bytes(content)
    with pytest.raises(CheckpointError, match=match) as info:
        load_state_dict(path)
    assert "\n" not in str(info.value)


def test_a_folder_without_a_model_is_refused(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="folder without"):
        load_state_dict(tmp_path)


def test_a_file_holding_no_tensors_is_refused(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="no tensors"):
        load_state_dict(save({"epoch": 3}, tmp_path / "meta.pt"))


def test_a_model_entry_that_is_not_weights_does_not_hide_the_state_dict(tmp_path: Path, sparse) -> None:
    path = save({**sparse, "model": {"name": "mamba-130m", "layers": 2}}, tmp_path / "ckpt.pt")
    _same_tensors(load_state_dict(path), sparse)


def test_an_index_file_can_be_named_directly(tmp_path: Path, sparse) -> None:
    save_file(sparse, str(tmp_path / "only.safetensors"))
    index = tmp_path / "model.safetensors.index.json"
    index.write_text(json.dumps({"weight_map": dict.fromkeys(sparse, "only.safetensors")}))
    assert sorted(load_state_dict(index)) == sorted(sparse)
