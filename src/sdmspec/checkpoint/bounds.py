"""What a checkpoint may cost to read, checked before it is read: checkpoints come from anywhere.

* A torch ZIP archive is judged from its central directory before torch sees it. ``torch.save`` stores every
  record uncompressed; a compressed record may inflate at most :data:`MAX_INFLATION` times its stored size, and
  the pickle (``data.pkl``) may hold at most :data:`MAX_PICKLE_BYTES` (a 370M-parameter state dict's is ~100 KB):
  a 260 KB compressed pickle that unpickles into gigabytes, or a ZIP bomb, is refused in one line.
* A tensor's logical size may not exceed the bytes that back it (:func:`check_backed`): a stride-0 tensor of
  2^40 elements over 1.6 KB of storage would take minutes to count and is no saved weight.
* A sharded index may hold at most :data:`MAX_INDEX_BYTES` (a 70B model's is ~100 KB).
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

from sdmspec.checkpoint.sniff import ZIP_ERRORS
from sdmspec.errors import CheckpointError
from sdmspec.io import human_bytes

if TYPE_CHECKING:
    import torch

MAX_PICKLE_BYTES = 64 * 2**20
MAX_INFLATION = 100
MAX_INDEX_BYTES = 64 * 2**20


def check_torch_zip(path: Path) -> None:
    """Refuse a torch ZIP archive whose records would inflate past the bounds (nothing is inflated to tell)."""
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
    except ZIP_ERRORS:
        return  # not readable as a ZIP here: torch's own reader reports it
    for info in infos:
        if info.filename.endswith(".pkl") and info.file_size > MAX_PICKLE_BYTES:
            raise CheckpointError(
                f"{path}: refused: its pickle {info.filename} holds {human_bytes(info.file_size)}, over the "
                f"{human_bytes(MAX_PICKLE_BYTES)} a state dict's needs; nothing in it was read"
            )
        if info.compress_type != zipfile.ZIP_STORED and info.file_size > MAX_INFLATION * max(info.compress_size, 1):
            raise CheckpointError(
                f"{path}: refused: record {info.filename} inflates {human_bytes(info.compress_size)} into "
                f"{human_bytes(info.file_size)} (over {MAX_INFLATION}x; torch.save stores records uncompressed): "
                "a ZIP bomb?"
            )


def check_backed(origin: str, name: str, tensor: torch.Tensor) -> None:
    """Refuse a tensor whose elements outnumber the bytes backing it (stride 0, overlapping strides)."""
    logical = tensor.numel() * tensor.element_size()
    try:
        stored = tensor.untyped_storage().nbytes()
    except (RuntimeError, NotImplementedError):  # a storage without bytes to measure (meta): nothing to count
        return
    if logical > stored:
        raise CheckpointError(
            f"{origin}: refused: tensor {name!r} claims {tensor.numel():,} elements ({human_bytes(logical)}) over "
            f"{human_bytes(stored)} of storage (stride 0 or overlapping strides): no saved weight looks like that"
        )
