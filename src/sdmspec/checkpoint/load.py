"""Open a checkpoint safely and lazily, under canonical names, with pruning masks applied.

``open_checkpoint(path)`` accepts a torch.save file (.pt/.pth/.bin: a state dict, or one wrapped under
"state_dict"/"model"/"module"/"model_state_dict", with or without DistributedDataParallel's ``module.`` prefix), a
.safetensors file, or a Hugging Face model folder (model.safetensors or pytorch_model.bin, single or sharded with an
index file). Names are canonical (:func:`sdmspec.checkpoint.sparsity.canonical_name`: mamba_ssm's
``backbone.embedding.`` becomes Hugging Face's ``backbone.embeddings.``).

Masked weights are resolved to the weight the model computes with:

- ``torch.nn.utils.prune`` stores ``<attr>_orig`` and a ``<attr>_mask`` buffer and no ``<attr>``. The effective
  weight is ``orig * mask``, computed exactly as prune's forward pre-hook does. Its zeros are where the mask is 0
  (whatever orig holds there) and also where orig is already 0 under a mask of 1: the model computes with a zero
  there just the same, ``prune.remove()`` would save that zero, and ``model_sparsity`` counts it on the live model.
  Counting only the mask's zeros would make one model count differently before and after ``prune.remove()``.
  (A NaN or infinity in orig under a zero mask gives NaN, as it does in the model, and is not counted as pruned.)
- ``torch.nn.utils.parametrize`` (``torch.ao.pruning``) stores ``parametrizations.<attr>.original``. A parametrization
  that saved a ``mask`` buffer (``parametrizations.<attr>.<i>.mask``) is applied as ``original * mask``;
  ``torch.ao.pruning``'s FakeSparsity saves no mask, so such a weight is read as its original, with a warning (call
  ``sparsifier.squash_mask()`` before saving).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sdmspec.checkpoint.folders import open_source
from sdmspec.checkpoint.sources import TensorSource
from sdmspec.checkpoint.sparsity import SparsityCount, canonical_name, count_sparsity
from sdmspec.errors import CheckpointError
from sdmspec.schema import SparsitySpec

if TYPE_CHECKING:
    import torch

# Called with (elements read so far, elements to read in total) after each tensor, for progress bars.
ProgressCallback = Callable[[int, int], None]

_PRUNE_ORIG = re.compile(r"^(?P<base>.+)_orig$")
_PARAMETRIZED = re.compile(r"^(?P<prefix>(?:.*\.)?)parametrizations\.(?P<attr>[^.]+)\.original$")
_PARAMETRIZATION_MASK = re.compile(r"^(?P<prefix>(?:.*\.)?parametrizations\.[^.]+\.)\d+\.mask$")


@dataclass(frozen=True)
class _Recipe:
    """How to build one effective tensor: the stored tensor, times each mask (if any)."""

    value: str
    masks: tuple[str, ...] = ()


def _resolve(keys: list[str]) -> tuple[dict[str, _Recipe], tuple[str, ...]]:
    """Canonical name -> recipe in storage order, and warnings about weights whose mask is not in the checkpoint."""
    present = set(keys)
    masked: dict[str, tuple[str, _Recipe]] = {}  # stored key -> (effective name, recipe)
    notes: list[str] = []
    # Every parametrization's saved masks by its prefix, found in one pass: scanning all keys for each parametrized
    # weight was quadratic (20,000 parametrized keys took over a minute).
    masks_of: dict[str, list[str]] = {}
    for key in keys:
        if found := _PARAMETRIZATION_MASK.match(key):
            masks_of.setdefault(found["prefix"], []).append(key)
    for key in keys:
        if (orig := _PRUNE_ORIG.match(key)) and f"{orig['base']}_mask" in present:
            masked[key] = (orig["base"], _Recipe(key, (f"{orig['base']}_mask",)))
        elif param := _PARAMETRIZED.match(key):
            name = f"{param['prefix']}{param['attr']}"
            masks = tuple(sorted(masks_of.get(f"{param['prefix']}parametrizations.{param['attr']}.", ())))
            if not masks:
                notes.append(f"{canonical_name(name)}: parametrized without a saved mask; read as its original")
            masked[key] = (name, _Recipe(key, masks))
    mask_keys = {mask for _, recipe in masked.values() for mask in recipe.masks}
    recipes: dict[str, _Recipe] = {}
    for key in keys:
        if key not in mask_keys:
            name, recipe = masked.get(key, (key, _Recipe(key)))
            _add(recipes, canonical_name(name), recipe)
    return recipes, tuple(notes)


def _add(recipes: dict[str, _Recipe], name: str, recipe: _Recipe) -> None:
    if name in recipes:
        raise CheckpointError(f"two tensors map to {name!r} ({recipes[name].value!r} and {recipe.value!r})")
    recipes[name] = recipe


class CheckpointReader:
    """A checkpoint's effective tensors under canonical names, read one at a time on demand."""

    def __init__(self, path: Path, source: TensorSource) -> None:
        self.path = path
        self._source = source
        self._recipes, self.warnings = _resolve(source.keys())

    def names(self) -> list[str]:
        """Canonical names of every effective tensor, in storage order."""
        return list(self._recipes)

    def __contains__(self, name: object) -> bool:
        return name in self._recipes

    def _recipe(self, name: str) -> _Recipe:
        try:
            return self._recipes[name]
        except KeyError:
            raise KeyError(f"{self.path}: no tensor named {name!r}") from None

    def shape(self, name: str) -> tuple[int, ...]:
        """The shape of ``name`` without reading its data."""
        return self._source.shape(self._recipe(name).value)

    def numel(self, name: str) -> int:
        total = 1
        for size in self.shape(name):
            total *= size
        return total

    def get(self, name: str) -> torch.Tensor:
        """The effective tensor ``name`` (masks applied)."""
        recipe = self._recipe(name)
        tensor = self._source.get(recipe.value)
        for mask_key in recipe.masks:
            mask = self._source.get(mask_key)
            if mask.shape != tensor.shape:
                raise CheckpointError(
                    f"{self.path}: mask {mask_key!r} has shape {tuple(mask.shape)}, its weight {tuple(tensor.shape)}"
                )
            tensor = tensor * mask
        return tensor

    def items(self, names: list[str] | None = None) -> Iterator[tuple[str, torch.Tensor]]:
        """(name, tensor) pairs one at a time; a tensor is not kept once the caller lets go of it."""
        for name in self.names() if names is None else names:
            yield name, self.get(name)


@contextmanager
def open_checkpoint(path: Path) -> Iterator[CheckpointReader]:
    """Open a checkpoint file or Hugging Face folder for lazy reading; raises CheckpointError when it cannot be read
    or is refused (a pickle that needs more than tensors and plain containers)."""
    path = Path(path)
    source = open_source(path)
    try:
        yield CheckpointReader(path, source)
    finally:
        source.close()


def load_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """Every effective tensor of a checkpoint under canonical names (for small models: all are kept)."""
    with open_checkpoint(path) as reader:
        return dict(reader.items())


def prunable_items(
    reader: CheckpointReader,
    spec: SparsitySpec,
    progress: ProgressCallback | None = None,
    device: str | None = None,
) -> Iterator[tuple[str, torch.Tensor]]:
    """The prunable tensors only, one at a time (the rest is never read), reporting progress by elements; on
    ``device`` when given (counted there), else where the reader put them (the CPU)."""
    names = [name for name in reader.names() if spec.is_prunable(name)]
    total = sum(reader.numel(name) for name in names)
    done = 0
    for name, tensor in reader.items(names):
        yield name, (tensor if device is None else tensor.to(device))
        done += tensor.numel()
        if progress is not None:
            progress(done, total)


def checkpoint_sparsity(
    path: Path, spec: SparsitySpec, progress: ProgressCallback | None = None
) -> tuple[SparsityCount, tuple[str, ...]]:
    """Count a checkpoint's sparsity streaming (one tensor resident at a time); also its loading warnings."""
    with open_checkpoint(path) as reader:
        return count_sparsity(prunable_items(reader, spec, progress), spec), reader.warnings
