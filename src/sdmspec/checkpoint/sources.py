"""Where a checkpoint's raw tensors come from: one torch.save file or one safetensors file (folders: folders.py).

Every source reads lazily and safely. torch.save files load with ``weights_only=True`` (the unpickler allows
tensors and plain containers only, so a pickle that asks for anything else is refused before any of its code runs)
and with ``mmap=True`` when the file is in torch's zip format, so storages are paged in only when a tensor is read.
safetensors files are read tensor by tensor. Sharded folders open one shard at a time.
"""

from __future__ import annotations

import re
import struct
import warnings
import zipfile
from collections.abc import Mapping
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from sdmspec.checkpoint.bounds import check_backed, check_torch_zip
from sdmspec.checkpoint.sniff import describe_file, may_be_torch_file
from sdmspec.errors import CheckpointError

if TYPE_CHECKING:
    import torch

# Keys under which training scripts wrap a state dict: Lightning and most loops ("state_dict"), timm and many
# research repos ("model"), DeepSpeed ("module"), the PyTorch tutorials ("model_state_dict").
WRAPPER_KEYS = ("state_dict", "model", "module", "model_state_dict")
# Hugging Face folder layouts, in the order transformers prefers them (read by folders.py).
HF_LAYOUTS = ("model.safetensors.index.json", "model.safetensors", "pytorch_model.bin.index.json", "pytorch_model.bin")


@dataclass(frozen=True)
class SourceInfo:
    """What was opened: the format in words ("safetensors", "torch.save (ZIP format)", "Hugging Face folder: ...")
    and the files read."""

    format: str
    files: tuple[str, ...]


class TensorSource(Protocol):
    """Raw tensors by their stored names; ``get`` reads one tensor; ``info`` says what was opened."""

    info: SourceInfo

    def keys(self) -> list[str]: ...

    def shape(self, key: str) -> tuple[int, ...]: ...

    def get(self, key: str) -> torch.Tensor: ...

    def close(self) -> None: ...


def first_line(err: BaseException, limit: int = 200) -> str:
    """An exception's message on one line, short enough for ``sdmspec: error: ...``."""
    lines = [line.strip() for line in str(err).splitlines() if line.strip()]
    text = lines[0] if lines else type(err).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _refusal(path: Path, err: BaseException) -> CheckpointError:
    # torch words it "Unsupported global: GLOBAL functools.partial was not...", "unsupported GLOBAL posix.system
    # whose module...", or "Unsupported operand 105" (an opcode the weights-only unpickler has no case for).
    pattern = r"(?:Unsupported global: )?GLOBAL (\S+)|Unsupported global: (\S+)|Unsupported operand (\d+)"
    found = re.search(pattern, str(err))
    needs = ""
    if found and found.group(3):
        needs = f"an unsupported pickle opcode {_opcode_name(int(found.group(3)))}"
    elif found:
        needs = found.group(1) or found.group(2) or ""
    detail = f"it needs {needs}, " if needs and "." in needs else f"{needs}, " if needs else ""
    return CheckpointError(
        f"{path}: refused: {detail}which weights-only loading does not allow (only tensors and plain containers); "
        "nothing in it was run. Re-save it as a state dict or as safetensors from a trusted environment"
    )


def _opcode_name(code: int) -> str:
    import pickletools

    name = next((op.name for op in pickletools.opcodes if op.code == chr(code)), None)
    return f"{name} ({code})" if name else str(code)


def unwrap_state_dict(obj: Any, origin: str) -> dict[str, torch.Tensor]:
    """The state dict inside a loaded object: the object itself, or one wrapped under a WRAPPER_KEYS key."""
    import torch

    if not isinstance(obj, Mapping):
        raise CheckpointError(f"{origin}: holds a {type(obj).__name__}, not a state dict")
    for _ in range(3):  # bounded: a pickle can hold a dict that contains itself
        inner = next((obj[key] for key in WRAPPER_KEYS if _holds_tensors(obj.get(key))), None)
        if inner is None:
            break
        obj = inner
    tensors = {key: value for key, value in obj.items() if isinstance(key, str) and isinstance(value, torch.Tensor)}
    if not tensors:
        wrappers = "/".join(f"'{key}'" for key in WRAPPER_KEYS)
        raise CheckpointError(f"{origin}: no tensors in it (expected a state dict, or one under {wrappers})")
    return tensors


def _holds_tensors(obj: Any, depth: int = 3) -> bool:
    """Whether a mapping holds tensors, directly or wrapped (a "model" entry may be a config, not weights)."""
    import torch

    if not isinstance(obj, Mapping) or depth == 0:
        return False
    values = obj.values()
    return any(isinstance(value, torch.Tensor) for value in values) or any(
        _holds_tensors(obj.get(key), depth - 1) for key in WRAPPER_KEYS
    )


def _what(path: Path, err: BaseException) -> str:
    """What the file is and what the loader said (a bare unpickler code such as "105" says nothing alone)."""
    return f"it is {describe_file(path)} ({first_line(err)})"


class MappingSource:
    """Tensors already in memory (a state dict), possibly wrapped."""

    def __init__(self, tensors: Mapping[str, Any], origin: str, info: SourceInfo | None = None) -> None:
        self._tensors = unwrap_state_dict(tensors, origin)
        for key, tensor in self._tensors.items():
            check_backed(origin, key, tensor)
        self.info = info or SourceInfo("state dict in memory", ())

    def keys(self) -> list[str]:
        return list(self._tensors)

    def shape(self, key: str) -> tuple[int, ...]:
        return tuple(self._tensors[key].shape)

    def get(self, key: str) -> torch.Tensor:
        return self._tensors[key]

    def close(self) -> None:
        self._tensors = {}


def load_torch_file(path: Path) -> MappingSource:
    """A torch.save file, loaded weights-only (memory-mapped when it is in the zip format)."""
    import pickle

    import torch

    use_mmap = zipfile.is_zipfile(path)
    if use_mmap:
        check_torch_zip(path)
    try:
        with warnings.catch_warnings():
            # torch warns about pickle protocols it did not write; the load either succeeds safely or is refused.
            warnings.simplefilter("ignore")
            loaded = torch.load(path, map_location="cpu", weights_only=True, mmap=use_mmap)
    except pickle.UnpicklingError as err:
        if "weights only" in str(err).lower():
            raise _refusal(path, err) from None
        raise CheckpointError(f"{path}: not a readable torch checkpoint: {_what(path, err)}") from None
    except Exception as err:  # torch raises RuntimeError, KeyError, EOFError... on corrupt files
        raise CheckpointError(f"{path}: not a readable torch checkpoint: {_what(path, err)}") from None
    layout = "ZIP format" if use_mmap else "legacy pickle format"
    return MappingSource(loaded, str(path), SourceInfo(f"torch.save ({layout})", (str(path),)))


class SafetensorsSource:
    """One .safetensors file, read tensor by tensor."""

    def __init__(self, path: Path) -> None:
        from safetensors import safe_open

        self._path = path
        self.info = SourceInfo("safetensors", (str(path),))
        self._stack = ExitStack()
        try:
            self._handle = self._stack.enter_context(safe_open(str(path), framework="pt", device="cpu"))
        except Exception as err:  # SafetensorError, OSError
            raise CheckpointError(f"{path}: not a readable safetensors file ({first_line(err)})") from None

    def keys(self) -> list[str]:
        return list(self._handle.keys())

    def shape(self, key: str) -> tuple[int, ...]:
        return tuple(self._handle.get_slice(key).get_shape())

    def get(self, key: str) -> torch.Tensor:
        try:
            tensor: torch.Tensor = self._handle.get_tensor(key)
        except Exception as err:
            raise CheckpointError(f"{self._path}: cannot read tensor {key!r} ({first_line(err)})") from None
        return tensor

    def close(self) -> None:
        self._stack.close()


def is_safetensors(path: Path) -> bool:
    """Whether a file starts like safetensors: an 8-byte little-endian header size, then a JSON object."""
    try:
        with path.open("rb") as handle:
            head = handle.read(9)
        size = path.stat().st_size
    except OSError:
        return False
    return len(head) == 9 and struct.unpack("<Q", head[:8])[0] < size and head[8:9] == b"{"


def open_file(path: Path) -> TensorSource:
    """A source for one checkpoint file: safetensors by content, otherwise a torch.save file; a file that is
    neither is named for what it is ("a YAML file", "an empty file") and refused."""
    if is_safetensors(path):
        return SafetensorsSource(path)
    if path.suffix == ".safetensors" or not may_be_torch_file(path):
        raise CheckpointError(f"{path}: not a readable checkpoint: it is {describe_file(path)}")
    return load_torch_file(path)
