"""Load back any model a stage wrote, with one call: ``mamba_sdm.models.load_model(path)``.

Every stage's ``model/`` folder is a transformers folder (config.json, model.safetensors, the tokenizer):

- pre-training (dense, SDM) and the baselines (challenge, random): ``MambaForCausalLM``, pruned weights stored as
  zeros (the keep-masks are beside the folder, in ``masks.safetensors``);
- fine-tuning: :class:`mamba_sdm.models.classifier.MambaForSequenceClassification`, its config carrying
  ``num_labels``, ``id2label``, ``label2id`` and ``finetuning_task``.

``path`` may be the job's output folder (``runs/smoke/finetune/mamba-130m-sdm/sst2``) or its ``model/``. Plain
transformers loads them as well: ``MambaForCausalLM.from_pretrained(dir)``, and, after ``import
mamba_sdm.models.classifier``, ``AutoModelForSequenceClassification.from_pretrained(dir)``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sdmspec.errors import CheckpointError

if TYPE_CHECKING:
    from transformers import PreTrainedModel

CONFIG_FILE = "config.json"
CLASSIFIER = "MambaForSequenceClassification"
LANGUAGE_MODEL = "MambaForCausalLM"


def find_model_folder(path: Path) -> Path:
    """The model folder a path names: ``path/model`` when ``path`` is a job's output folder, else ``path``."""
    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"{path}: no such file or folder")
    candidate = path / "model" if (path / "model" / CONFIG_FILE).is_file() else path
    if not (candidate / CONFIG_FILE).is_file():
        old_format = (path / "classifier.json").is_file() or (path / "model" / "classifier.json").is_file()
        legacy = " (a fine-tuned folder from before config.json was written: rerun its fine-tuning)" * old_format
        raise CheckpointError(f"{path}: not a model folder: no {CONFIG_FILE} there nor in {path}/model{legacy}")
    return candidate


def read_model_config(folder: Path) -> dict[str, Any]:
    """A model folder's config.json as a dict (the folder as :func:`find_model_folder` returns it)."""
    try:
        config = json.loads((folder / CONFIG_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise CheckpointError(f"{folder / CONFIG_FILE}: not readable JSON ({err})") from None
    if not isinstance(config, dict):
        raise CheckpointError(f"{folder / CONFIG_FILE}: not a JSON object")
    return config


def model_kind(config: dict[str, Any]) -> str:
    """``"classifier"`` or ``"language_model"``, from the architecture config.json names."""
    if config.get("model_type") != "mamba":
        raise CheckpointError(f"not a Mamba model (model_type {config.get('model_type')!r})")
    architectures = config.get("architectures") or [LANGUAGE_MODEL]
    if CLASSIFIER in architectures:
        return "classifier"
    if LANGUAGE_MODEL in architectures:
        return "language_model"
    raise CheckpointError(f"unknown architecture {', '.join(map(str, architectures))}")


def load_model(path: Path | str, *, device: str = "cpu") -> PreTrainedModel:
    """The model a stage wrote, in eval mode on ``device``: ``MambaForCausalLM`` (pre-training, baselines) or
    ``MambaForSequenceClassification`` (fine-tuning). Raises CheckpointError when ``path`` holds no such model."""
    folder = find_model_folder(Path(path))
    kind = model_kind(read_model_config(folder))
    model_class: Any
    if kind == "classifier":
        from mamba_sdm.models.classifier import MambaForSequenceClassification

        model_class = MambaForSequenceClassification
    else:
        from transformers import MambaForCausalLM

        model_class = MambaForCausalLM
    try:
        model: PreTrainedModel = model_class.from_pretrained(str(folder)).to(device)
    except (OSError, ValueError, RuntimeError) as err:
        raise CheckpointError(f"{folder}: cannot load the model ({' '.join(str(err).split())[:300]})") from None
    model.eval()  # type: ignore[no-untyped-call]
    return model
