"""Hugging Face model folders: model.safetensors or pytorch_model.bin, single or sharded with an index file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from sdmspec.checkpoint.bounds import MAX_INDEX_BYTES
from sdmspec.checkpoint.sources import HF_LAYOUTS, SourceInfo, TensorSource, first_line, open_file
from sdmspec.errors import CheckpointError, LimitError
from sdmspec.io import read_bounded

if TYPE_CHECKING:
    import torch


def read_weight_map(index: Path) -> dict[str, Path]:
    """An index file's ``weight_map`` (tensor name -> shard file), each shard checked to be a file in its folder."""
    try:
        data = read_bounded(index, MAX_INDEX_BYTES, "checkpoint index")
        weight_map = json.loads(data.decode("utf-8"))["weight_map"]
    except LimitError as err:
        raise CheckpointError(str(err)) from None
    except RecursionError:
        raise CheckpointError(f"{index}: not a readable index file (nested too deeply)") from None
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise CheckpointError(f"{index}: not a readable index file ({first_line(err)})") from None
    if not isinstance(weight_map, dict):
        raise CheckpointError(f"{index}: weight_map is not a mapping")
    folder = index.parent.resolve()
    shard_of: dict[str, Path] = {}
    for key, shard in weight_map.items():
        name = str(shard)
        shard_path = folder / name
        # An index is untrusted input too: it may only name files inside its own folder. Judged by name, not by
        # resolved path: in the Hugging Face cache every file of a snapshot is a symlink into blobs/.
        if Path(name).name != name or name in ("", ".", ".."):
            raise CheckpointError(f"{index}: shard {shard!r} is outside the checkpoint folder")
        if not shard_path.is_file():
            raise CheckpointError(f"{index}: shard {shard!r} (for {key!r}) is missing")
        shard_of[str(key)] = shard_path
    return shard_of


def find_layout(folder: Path) -> Path | None:
    """The weights file or index of a Hugging Face folder, in transformers' order of preference; None if none."""
    for name in HF_LAYOUTS:
        candidate = folder / name
        if candidate.is_file():
            return candidate
    return None


def weight_files(folder: Path) -> list[Path]:
    """The files :func:`open_source` reads for a Hugging Face folder: its weights file, or its index and shards."""
    found = find_layout(folder)
    if found is None:
        raise CheckpointError(f"{folder}: no weights ({', '.join(HF_LAYOUTS)})")
    if not found.name.endswith(".index.json"):
        return [found]
    return [found, *sorted(set(read_weight_map(found).values()))]


class ShardedSource:
    """A Hugging Face folder sharded with an index file (``weight_map``: tensor name -> shard file)."""

    def __init__(self, index: Path) -> None:
        self._shard_of = read_weight_map(index)
        shards = sorted(set(self._shard_of.values()))
        kind = "safetensors" if index.name.startswith("model.safetensors") else "torch.save"
        self.info = SourceInfo(
            f"{kind}, sharded over {len(shards)} file(s) by {index.name}", (str(index), *map(str, shards))
        )
        self._open_path: Path | None = None
        self._open: TensorSource | None = None
        self._open_keys: frozenset[str] = frozenset()
        self._shapes: dict[str, tuple[int, ...]] = {}

    def keys(self) -> list[str]:
        # Grouped by shard so that reading in this order opens each shard once.
        return sorted(self._shard_of, key=lambda key: str(self._shard_of[key]))

    def _source(self, key: str) -> TensorSource:
        shard = self._shard_of[key]
        if self._open is None or self._open_path != shard:
            self.close()
            self._open, self._open_path = open_file(shard), shard
            self._open_keys = frozenset(self._open.keys())
            # Remember every shape the shard holds, so asking for shapes in any order opens each shard once.
            self._shapes.update((name, self._open.shape(name)) for name in self._open_keys)
        return self._open

    def shape(self, key: str) -> tuple[int, ...]:
        if key not in self._shapes:
            self._checked(key)
        return self._shapes[key]

    def get(self, key: str) -> torch.Tensor:
        return self._checked(key).get(key)

    def _checked(self, key: str) -> TensorSource:
        source = self._source(key)
        if key not in self._open_keys:
            raise CheckpointError(f"{self._shard_of[key]}: the index places {key!r} in this shard but it is not there")
        return source

    def close(self) -> None:
        if self._open is not None:
            self._open.close()
        self._open, self._open_path = None, None


def model_dir(path: Path) -> Path:
    """The Hugging Face folder ``path`` names: ``path`` itself, or its ``model/`` when ``path`` is a job's output
    folder (``runs/smoke/pretrain/mamba-130m-sdm``, which holds ``model/``)."""
    if find_layout(path) is None and (path / "model").is_dir() and find_layout(path / "model") is not None:
        return path / "model"
    return path


def open_source(path: Path) -> TensorSource:
    """A source for a checkpoint file, a Hugging Face model folder, or a job's output folder holding ``model/``."""
    if path.name.endswith(".index.json") and path.is_file():
        return ShardedSource(path)
    if path.is_dir():
        folder = model_dir(path)
        found = find_layout(folder)
        if found is None:
            also = " (nor a model/ folder holding one)" if path == folder else ""
            raise CheckpointError(f"{path}: a folder without {', '.join(HF_LAYOUTS)}{also}")
        source = ShardedSource(found) if found.name.endswith(".index.json") else open_file(found)
        source.info = SourceInfo(f"Hugging Face folder: {source.info.format}", source.info.files)
        return source
    if not path.exists():
        raise CheckpointError(f"{path}: no such file or folder")
    if not path.is_file():
        raise CheckpointError(f"{path}: not a regular file")
    return open_file(path)
