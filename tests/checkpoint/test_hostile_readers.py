"""Issue 23: checkpoints from anywhere. Cases 4 (E8M0 has no zero), 8 (a ZIP bomb), 9 (stride 0), 10 (a compressed
pickle), 11 (20,000 parametrized keys), 17 (float4), 18 (a deeply nested index) and 22 (a refused global's name)."""

from __future__ import annotations

import functools
import re
import zipfile
from pathlib import Path

import pytest
import torch
from ckpt_factory import mamba_state
from safetensors.torch import save_file

from mamba_sdm.spec import Spec
from sdmspec.checkpoint.load import _resolve, checkpoint_sparsity
from sdmspec.checkpoint.sniff import describe_file
from sdmspec.checkpoint.sources import load_torch_file
from sdmspec.checkpoint.verify import verify_iso_sparsity
from sdmspec.errors import CheckpointError

PRUNABLE = "backbone.layers.0.mixer.in_proj.weight"


def test_float8_e8m0_bytes_of_zero_are_not_zeros(tmp_path: Path, spec: Spec) -> None:
    # In E8M0 (the MX formats' scales) byte 0x00 is 2^-127: a checkpoint of them holds no zero at all.
    dense = mamba_state()
    sdm = dict(dense)
    sdm[PRUNABLE] = torch.zeros_like(dense[PRUNABLE])  # really pruned
    crafted = dict(dense)
    crafted[PRUNABLE] = torch.zeros(dense[PRUNABLE].shape, dtype=torch.uint8).view(torch.float8_e8m0fnu)
    save_file(sdm, tmp_path / "sdm.safetensors")
    save_file(crafted, tmp_path / "crafted.safetensors")
    result = verify_iso_sparsity(tmp_path / "sdm.safetensors", tmp_path / "crafted.safetensors", spec)
    assert not result.passed
    count, _ = checkpoint_sparsity(tmp_path / "crafted.safetensors", spec.sparsity)
    assert count.by_name()[PRUNABLE.removesuffix(".weight")].zeros == 0


def test_float4_tensors_are_counted_two_per_byte(tmp_path: Path, spec: Spec) -> None:
    state = mamba_state()
    # Bytes 0x00 (two zeros), 0x08 (-0 and 0), 0x12 (none), 0x10 (one): 5 zeros of 8 values.
    packed = torch.tensor([[0x00, 0x08, 0x12, 0x10]], dtype=torch.uint8).view(torch.float4_e2m1fn_x2)
    state[PRUNABLE] = packed
    save_file(state, tmp_path / "f4.safetensors")
    count, _ = checkpoint_sparsity(tmp_path / "f4.safetensors", spec.sparsity)
    layer = count.by_name()[PRUNABLE.removesuffix(".weight")]
    assert (layer.zeros, layer.numel) == (5, 8)


def test_a_stride_zero_tensor_is_refused(tmp_path: Path) -> None:
    # 2^24 logical elements over 4 bytes of storage: no saved weight looks like that.
    expanded = torch.zeros(1).expand(2**12, 2**12)
    torch.save({PRUNABLE: expanded}, tmp_path / "stride0.pt")
    with pytest.raises(CheckpointError, match="stride 0"):
        load_torch_file(tmp_path / "stride0.pt")


def _torch_zip_with(tmp_path: Path, name: str, payload: bytes) -> Path:
    """A real torch.save archive with one more record, deflated."""
    path = tmp_path / "model.pt"
    torch.save({PRUNABLE: torch.ones(2, 2)}, path)
    with zipfile.ZipFile(path, "a", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(f"model/{name}", payload)
    return path


def test_naming_a_zip_bomb_inflates_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _torch_zip_with(tmp_path, "data/99", bytes(32 * 2**20))

    def inflate(*args: object, **kwargs: object) -> None:
        raise AssertionError("a record was inflated to name the file")

    monkeypatch.setattr(zipfile.ZipFile, "open", inflate)
    assert describe_file(path) == "a torch checkpoint (ZIP format)"


def test_a_zip_bomb_is_refused_before_loading(tmp_path: Path) -> None:
    path = _torch_zip_with(tmp_path, "data/99", bytes(32 * 2**20))
    with pytest.raises(CheckpointError, match="ZIP bomb"):
        load_torch_file(path)


def test_a_compressed_pickle_is_refused_before_unpickling(tmp_path: Path) -> None:
    path = tmp_path / "model.pt"
    # A pickle that would build a long list (a compressed data.pkl: 2 MiB of opcodes from a few KB).
    pickle_bytes = b"\x80\x02]q\x00(" + b"K\x01" * 2**20 + b"e."
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("model/data.pkl", pickle_bytes)
        archive.writestr("model/version", "3\n")
    with pytest.raises(CheckpointError, match="inflates"):
        load_torch_file(path)


def test_parametrized_keys_are_resolved_in_one_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    keys = []
    for index in range(2000):
        prefix = f"backbone.layers.{index}.mixer.in_proj.parametrizations.weight"
        keys += [f"{prefix}.original", f"{prefix}.0.mask"]
    compiled = 0
    real_compile = re.compile

    def counting(*args: object, **kwargs: object) -> re.Pattern[str]:
        nonlocal compiled
        compiled += 1
        return real_compile(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(re, "compile", counting)
    recipes, notes = _resolve(keys)
    assert compiled == 0  # one pattern per key, matched against every key, was quadratic
    assert len(recipes) == 2000 and not notes
    assert recipes["backbone.layers.7.mixer.in_proj.weight"].masks == (
        "backbone.layers.7.mixer.in_proj.parametrizations.weight.0.mask",
    )


def test_a_deeply_nested_index_is_one_line(tmp_path: Path, spec: Spec) -> None:
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "model.safetensors.index.json").write_text('{"weight_map": ' + "[" * 100_000 + "]" * 100_000 + "}")
    with pytest.raises(CheckpointError, match="index"):
        checkpoint_sparsity(folder, spec.sparsity)


def test_a_refused_global_is_named(tmp_path: Path) -> None:
    torch.save({PRUNABLE: torch.ones(2), "hook": functools.partial(print, 1)}, tmp_path / "evil.pt")
    with pytest.raises(CheckpointError, match=r"it needs functools\.partial"):
        load_torch_file(tmp_path / "evil.pt")


def test_an_index_over_the_size_bound_is_refused(tmp_path: Path, spec: Spec) -> None:
    folder = tmp_path / "model"
    folder.mkdir()
    with (folder / "model.safetensors.index.json").open("w") as handle:
        handle.write('{"weight_map": {')
        handle.write(" " * (64 * 2**20 + 1))
        handle.write("}}")
    with pytest.raises(CheckpointError, match="over the"):
        checkpoint_sparsity(folder, spec.sparsity)


def test_a_zip_whose_names_are_not_utf8_is_one_line(tmp_path: Path, spec: Spec) -> None:
    # Found by benchmarks/fuzz_hostile.py: a record name flagged UTF-8 that is not escaped the readers as a
    # UnicodeDecodeError from zipfile.
    path = tmp_path / "model.pt"
    torch.save({PRUNABLE: torch.ones(2, 2)}, path)
    with zipfile.ZipFile(path, "a") as archive:
        archive.writestr("model/é", b"x")  # a non-ASCII name: zipfile sets the UTF-8 flag
    data = path.read_bytes().replace("é".encode(), b"\xc3\x28")
    path.write_bytes(data)
    with pytest.raises(CheckpointError):
        checkpoint_sparsity(path, spec.sparsity)
