"""Where Phase A starts: finding a released checkpoint (a folder, the Hugging Face cache, the generated smoke one),
holding its config to the spec's size, loading it safely, and its digest."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import torch

from mamba_sdm.models.build import build_model, dimensions, mamba_config
from mamba_sdm.models.pretrained import (
    FROM_CACHE,
    FROM_FLAG,
    FROM_SMOKE,
    InitNotFoundError,
    find_in_cache,
    init_choice,
    load_initial_weights,
    resolve_initial_weights,
    weight_files,
    weights_digest,
)
from mamba_sdm.models.smoke_checkpoint import ensure_smoke_checkpoint, write_smoke_checkpoint
from mamba_sdm.spec import Spec
from sdmspec.errors import EXIT_FINDINGS, EXIT_USAGE, CheckpointError, ConfigError


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty Hugging Face hub cache and smoke cache for this test only."""
    from huggingface_hub import constants

    hub = tmp_path / "hub"
    hub.mkdir()
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(hub))
    monkeypatch.setenv("SDMSPEC_CACHE", str(tmp_path / "sdmspec-cache"))
    return hub


def _state(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {name: tensor.detach().clone() for name, tensor in model.state_dict().items()}


def _same(left: dict[str, torch.Tensor], right: dict[str, torch.Tensor]) -> bool:
    return left.keys() == right.keys() and all(torch.equal(left[name], right[name]) for name in left)


def full_size_stub(spec: Spec, size: str, folder: Path) -> Path:
    """A folder with the full-size config.json of ``size`` and a tiny weights file: enough to be found and checked."""
    from safetensors.torch import save_file

    folder.mkdir(parents=True, exist_ok=True)
    mamba_config(dimensions(spec.models[size])).save_pretrained(str(folder))
    save_file({"w": torch.arange(4.0)}, str(folder / "model.safetensors"))
    return folder


def _cache_snapshot(hub: Path, hf_name: str, source: Path) -> Path:
    """Lay ``source``'s files out as the hub cache does: blobs, and a snapshot of symlinks to them."""
    repo = hub / f"models--{hf_name.replace('/', '--')}"
    snapshot = repo / "snapshots" / "0123abcd"
    (repo / "blobs").mkdir(parents=True)
    snapshot.mkdir(parents=True)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("0123abcd")
    for index, file in enumerate(sorted(source.iterdir())):
        blob = repo / "blobs" / f"blob{index}"
        blob.write_bytes(file.read_bytes())
        (snapshot / file.name).symlink_to(os.path.relpath(blob, snapshot))
    return snapshot


def test_the_smoke_checkpoint_is_generated_deterministically_in_the_real_format(spec: Spec, tmp_path: Path) -> None:
    first = write_smoke_checkpoint(spec, "130m", tmp_path / "a")
    second = write_smoke_checkpoint(spec, "130m", tmp_path / "b")
    assert (first / "config.json").is_file() and weight_files(first) == [first / "model.safetensors"]
    assert weights_digest(weight_files(first)) == weights_digest(weight_files(second))
    config = json.loads((first / "config.json").read_text())
    smoke = dimensions(spec.models["130m"], smoke=True)
    assert (config["model_type"], config["hidden_size"], config["num_hidden_layers"]) == (
        "mamba", smoke.d_model, smoke.n_layer
    )  # fmt: skip


def test_smoke_runs_start_from_the_generated_checkpoint_and_load_it_exactly(spec: Spec, cache: Path) -> None:
    weights = resolve_initial_weights(spec, "130m", "pretrained", smoke=True, init_from=None)
    assert weights.origin == FROM_SMOKE and weights.folder == ensure_smoke_checkpoint(spec, "130m")
    assert weights.digest == weights_digest(weight_files(weights.folder))
    source = build_model(spec, "130m", smoke=True)
    source.load_state_dict(_load_file(weights.folder / "model.safetensors"), strict=False)
    model = build_model(spec, "130m", smoke=True, seed=99)
    assert not _same(_state(model), _state(source))
    load_initial_weights(model, weights)
    assert _same(_state(model), _state(source))
    assert model.lm_head.weight is model.backbone.embeddings.weight  # still tied after loading


def _load_file(path: Path) -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file

    return load_file(str(path))


def test_a_sharded_folder_loads_the_same_weights(spec: Spec, tmp_path: Path) -> None:
    single = write_smoke_checkpoint(spec, "130m", tmp_path / "single")
    sharded = write_smoke_checkpoint(spec, "130m", tmp_path / "sharded", max_shard_size="40KB")
    files = weight_files(sharded)
    assert files[0].name == "model.safetensors.index.json" and len(files) > 2
    loaded = []
    for folder in (single, sharded):
        weights = resolve_initial_weights(spec, "130m", "pretrained", smoke=True, init_from=folder)
        assert weights.origin == FROM_FLAG
        model = build_model(spec, "130m", smoke=True, seed=7)
        load_initial_weights(model, weights)
        loaded.append(_state(model))
    assert _same(*loaded)


def test_a_sharded_checkpoint_in_the_hub_cache_is_found_and_loaded(spec: Spec, cache: Path, tmp_path: Path) -> None:
    # In the cache every file is a symlink into blobs/: the shards must still count as inside the folder.
    sharded = write_smoke_checkpoint(spec, "130m", tmp_path / "sharded", max_shard_size="40KB")
    snapshot = _cache_snapshot(cache, "state-spaces/mamba-130m-hf", sharded)
    assert find_in_cache("state-spaces/mamba-130m-hf") == snapshot
    assert find_in_cache("state-spaces/mamba-370m-hf") is None
    expected = build_model(spec, "130m", smoke=True, seed=7)
    load_initial_weights(expected, resolve_initial_weights(spec, "130m", "pretrained", smoke=True, init_from=sharded))
    model = build_model(spec, "130m", smoke=True, seed=8)
    load_initial_weights(model, resolve_initial_weights(spec, "130m", "pretrained", smoke=True, init_from=snapshot))
    assert _same(_state(model), _state(expected))


def test_the_full_size_checkpoint_comes_from_the_cache(spec: Spec, cache: Path, tmp_path: Path) -> None:
    snapshot = _cache_snapshot(cache, "state-spaces/mamba-130m-hf", full_size_stub(spec, "130m", tmp_path / "s"))
    weights = resolve_initial_weights(spec, "130m", "pretrained", smoke=False, init_from=None)
    assert (weights.folder, weights.origin) == (snapshot, FROM_CACHE)
    # The digest is the content's: the same files elsewhere have the same digest.
    assert weights.digest == weights_digest(weight_files(tmp_path / "s"))
    assert weights.record()["hf_name"] == "state-spaces/mamba-130m-hf"


def test_nothing_cached_offline_says_what_to_download_and_what_to_pass(spec: Spec, cache: Path) -> None:
    with pytest.raises(InitNotFoundError) as raised:
        resolve_initial_weights(spec, "370m", "pretrained", smoke=False, init_from=None)
    message = str(raised.value)
    assert "\n" not in message and raised.value.exit_code == EXIT_FINDINGS
    assert "`hf download state-spaces/mamba-370m-hf --local-dir checkpoints/mamba-370m-hf`" in message
    assert message.endswith("pass --init-from checkpoints/mamba-370m-hf")
    with pytest.raises(InitNotFoundError, match=r"pass --init-from 370m=checkpoints/mamba-370m-hf$"):
        resolve_initial_weights(spec, "370m", "pretrained", smoke=False, init_from=None, size_prefix="370m=")


def test_a_checkpoint_of_another_size_is_refused_naming_every_field(spec: Spec, tmp_path: Path) -> None:
    other = write_smoke_checkpoint(spec, "370m", tmp_path / "370m")
    with pytest.raises(CheckpointError) as raised:
        resolve_initial_weights(spec, "130m", "pretrained", smoke=True, init_from=other)
    message = str(raised.value)
    assert raised.value.exit_code == EXIT_USAGE and "\n" not in message
    assert "n_layer (num_hidden_layers) 4, expected 2" in message and "smoke model" in message
    config = json.loads((other / "config.json").read_text())
    config.update(model_type="mamba2", state_size=128, hidden_size=None)
    config.pop("conv_kernel")
    (other / "config.json").write_text(json.dumps(config))
    with pytest.raises(CheckpointError) as raised:
        resolve_initial_weights(spec, "370m", "pretrained", smoke=False, init_from=other)
    for fragment in ("model_type 'mamba2', expected 'mamba'", "d_model (hidden_size) missing, expected 1024",
                     "n_layer (num_hidden_layers) 4, expected 48", "vocab_size (vocab_size) 512, expected 50280",
                     "d_state (state_size) 128, expected 16", "d_conv (conv_kernel) missing, expected 4"):  # fmt: skip
        assert fragment in str(raised.value)


def test_unreadable_folders_are_refused(spec: Spec, tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="no such folder"):
        resolve_initial_weights(spec, "130m", "pretrained", smoke=True, init_from=tmp_path / "nothing")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(CheckpointError, match=r"no config\.json"):
        resolve_initial_weights(spec, "130m", "pretrained", smoke=True, init_from=empty)
    (empty / "config.json").write_text(json.dumps(mamba_config(dimensions(spec.models["130m"], smoke=True)).to_dict()))
    with pytest.raises(CheckpointError, match="no weights"):
        resolve_initial_weights(spec, "130m", "pretrained", smoke=True, init_from=empty)


def test_tensors_must_be_exactly_the_models(spec: Spec, tmp_path: Path) -> None:
    from safetensors.torch import save_file

    folder = write_smoke_checkpoint(spec, "130m", tmp_path / "c")
    tensors = _load_file(folder / "model.safetensors")
    weights = resolve_initial_weights(spec, "130m", "pretrained", smoke=True, init_from=folder)
    model = build_model(spec, "130m", smoke=True)
    cases = {
        "missing backbone.norm_f.weight": {k: v for k, v in tensors.items() if k != "backbone.norm_f.weight"},
        "unexpected extra.weight": {**tensors, "extra.weight": torch.zeros(2)},
        "differs from the embeddings": {**tensors, "lm_head.weight": tensors["backbone.embeddings.weight"] + 1},
    }
    for fragment, state in cases.items():
        save_file(state, str(folder / "model.safetensors"))
        with pytest.raises(CheckpointError, match=fragment):
            load_initial_weights(model, weights)
    # A saved tied head equal to the embeddings is fine (some conversions keep both).
    head = tensors["backbone.embeddings.weight"].clone()
    save_file({**tensors, "lm_head.weight": head}, str(folder / "model.safetensors"))
    load_initial_weights(model, weights)


def test_scratch_starts_from_random_weights_and_takes_no_folder(spec: Spec, tmp_path: Path) -> None:
    weights = resolve_initial_weights(spec, "130m", "scratch", smoke=False, init_from=None)
    assert weights.folder is None and weights.record()["init"] == "scratch" and weights.record()["digest"] is None
    model = build_model(spec, "130m", smoke=True, seed=0)
    before = _state(model)
    load_initial_weights(model, weights)
    assert _same(_state(model), before)
    with pytest.raises(ConfigError, match=r"training\.pretrain\.init is scratch"):
        resolve_initial_weights(spec, "130m", "scratch", smoke=False, init_from=tmp_path)
    assert init_choice({}) == "scratch"  # a spec without the setting keeps random initialization
    with pytest.raises(ConfigError, match="choose pretrained"):
        init_choice({"training.pretrain.init": "released"})
