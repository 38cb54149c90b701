"""``sdmspec eval``: load a model a stage wrote and measure it again, as the stage measured it.

A fine-tuned model is evaluated on its task's validation split(s) (accuracy, and F1 where the task lists it), a
language model (pre-training, baselines) by validation perplexity on WikiText-103, each through the job's own
evaluation function, with the settings the stage recorded in its ``result.json`` (micro-batch, sequence length,
autocast), so the figures are the stage's, exactly, when the data are the same. Without a result.json the settings
come from ``--configs`` (with the smoke overlay under ``--smoke``). The data are ``--data-dir``, else the folder the
stage read when it is still there, else where the jobs look (generated under ``--smoke``, the hub's cache otherwise).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mamba_sdm.jobs.common import JobOptions, load_checked_settings
from mamba_sdm.jobs.result import RESULT_FILE, Result, read_result
from mamba_sdm.models.loading import find_model_folder, model_kind, read_model_config
from mamba_sdm.spec import Spec, load_mamba_spec
from sdmspec.errors import JobError, SdmspecError

if TYPE_CHECKING:
    import torch

    from mamba_sdm.jobs.runtime import Runtime


@dataclass(frozen=True)
class EvalRequest:
    """What to evaluate and how (the CLI fills it)."""

    path: Path
    spec_path: Path | None = None
    configs: Path = Path("configs")
    smoke: bool = False
    data_dir: Path | None = None
    device: str = "auto"
    scan: str = "auto"


@dataclass
class EvalReport:
    """The metrics measured now, beside those the stage recorded (empty when it recorded none)."""

    model: str
    kind: str
    task: str | None
    smoke: bool
    device: str
    scan: str
    metrics: dict[str, float]
    recorded: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def differences(self) -> list[str]:
        return [
            f"{name}: {self.metrics.get(name)!r} now, {value!r} in {RESULT_FILE}"
            for name, value in self.recorded.items()
            if self.metrics.get(name) != value
        ]

    def to_json(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "kind": self.kind,
            "task": self.task,
            "smoke": self.smoke,
            "data": self.data,
            "device": self.device,
            "scan": self.scan,
            "metrics": self.metrics,
            "recorded": self.recorded,
            "matches_recorded": None if not self.recorded else not self.differences,
            "differences": self.differences,
            "notes": self.notes,
        }


def evaluate(request: EvalRequest) -> EvalReport:
    """Evaluate the model at ``request.path`` (a job's output folder or its ``model/``)."""
    folder = find_model_folder(request.path)
    config = read_model_config(folder)
    kind = model_kind(config)
    result = _read_result(folder.parent / RESULT_FILE)
    smoke = request.smoke or result.smoke
    spec = load_mamba_spec(request.spec_path)
    settings = _Settings(result, request, spec, smoke)
    if kind == "classifier":
        task = str(config.get("finetuning_task") or result.task or "")
        if task not in spec.data.finetune:
            raise JobError(f"{folder}: its task {task!r} is not one of the spec's ({', '.join(spec.data.finetune)})")
    else:
        task = None
    from mamba_sdm.jobs.data import resolve_source

    own_tokenizer = folder if (folder / "tokenizer.json").is_file() else None
    data_dir = request.data_dir or _recorded_data_dir(result)
    source = resolve_source(spec, smoke=smoke, data_dir=data_dir, tokenizer=own_tokenizer)
    from mamba_sdm.jobs.acceleration import choose_scan
    from mamba_sdm.jobs.data import load_tokenizer
    from mamba_sdm.jobs.runtime import start_runtime
    from mamba_sdm.models.loading import load_model
    from mamba_sdm.models.scan import apply_scan

    notes: list[str] = []
    bf16 = result.autocast == "bf16"
    if bf16 and not _bf16_here(request.device):
        bf16 = False
        notes.append("the stage ran under bf16 autocast, this evaluation runs in fp32 (no bf16 GPU here)")
    runtime = start_runtime(request.device, precision="bf16" if bf16 else "fp32", small=smoke)
    try:
        scan = choose_scan(request.scan, runtime)
        tokenizer = load_tokenizer(source)
        model = load_model(folder, device=str(runtime.device))
        apply_scan(model, scan)
        if task is not None:
            metrics = _classifier_metrics(model, spec, task, settings, source, tokenizer, runtime)
        else:
            metrics = _language_model_metrics(model, spec, settings, source, tokenizer, runtime)
    finally:
        runtime.close()
    recorded = {name: value for name, value in result.number_metrics().items() if name in metrics}
    return EvalReport(
        model=str(folder),
        kind=str(config.get("architectures", ["MambaForCausalLM"])[0]),
        task=task,
        smoke=smoke,
        device=str(runtime.device),
        scan=scan.path.value,
        metrics=metrics,
        recorded=recorded,
        notes=notes,
        data=source.describe(),
    )


def _bf16_here(device: str) -> bool:
    from mamba_sdm.jobs.precision import cuda_bf16
    from sdmspec.device import resolve_device

    # The jobs' own check: one that also counted emulation would pick bf16 here that the runtime then refuses.
    return resolve_device(device, JobError) == "cuda" and cuda_bf16()


class _Settings:
    """A setting's value as the stage recorded it in result.json, else as the configs resolve it now."""

    def __init__(self, result: Result, request: EvalRequest, spec: Spec, smoke: bool) -> None:
        self._result = result
        self._request, self._spec, self._smoke = request, spec, smoke
        self._resolved: Any = None

    def get_int(self, key: str) -> int:
        value = self._result.setting(key)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if self._resolved is None:
            options = JobOptions(
                variant="", out=self._request.path, configs=self._request.configs,
                spec_path=self._request.spec_path, smoke=self._smoke,
            )  # fmt: skip
            self._resolved = load_checked_settings(options)[1]
        return int(self._resolved.get_int(key))


def _read_result(path: Path) -> Result:
    """The stage's record beside the model, or an empty one (a model folder of another origin)."""
    if not path.is_file():
        return Result()
    try:
        return read_result(path)
    except SdmspecError as err:  # the stage's record is broken: a failed check of the stage (exit 1), as always
        raise JobError(str(err)) from None


def _recorded_data_dir(result: Result) -> Path | None:
    """The data folder the stage read (result.json's ``data.data_dir``), when it is still there."""
    recorded = result.data.data_dir if result.data is not None else None
    return Path(recorded) if recorded is not None and Path(recorded).is_dir() else None


class _Logits:
    """The fine-tuning job's evaluation calls its model for logits; a transformers model returns an output object."""

    def __init__(self, model: Any) -> None:
        self._model = model

    def __call__(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        logits: torch.Tensor = self._model(input_ids=input_ids, attention_mask=attention_mask).logits
        return logits


def _classifier_metrics(
    model: Any, spec: Spec, task: str, settings: _Settings, source: Any, tokenizer: Any, runtime: Runtime
) -> dict[str, float]:
    import torch

    from mamba_sdm.jobs.data import GLUE_FOLDER, load_split
    from mamba_sdm.jobs.finetune import _evaluate
    from mamba_sdm.jobs.text import classification_examples

    task_spec = spec.data.finetune[task]
    max_len = settings.get_int("training.finetune.max_seq_len")
    micro = settings.get_int("training.finetune.micro_batch_size")
    splits = {
        split: classification_examples(
            load_split(source, f"{GLUE_FOLDER}/{task}", (task_spec.path, task_spec.name), split, f"GLUE {task}"),
            tokenizer,
            task_spec.text_fields,
            task_spec.label_field,
            max_len,
        )
        for split in task_spec.validation_splits
    }
    with torch.no_grad():
        return _evaluate(_Logits(model), splits, task_spec, micro, tokenizer, runtime)  # type: ignore[arg-type]


def _language_model_metrics(
    model: Any, spec: Spec, settings: _Settings, source: Any, tokenizer: Any, runtime: Runtime
) -> dict[str, float]:
    import torch

    from mamba_sdm.jobs.data import PRETRAIN_FOLDER, load_split
    from mamba_sdm.jobs.pretrain import _validation_perplexity
    from mamba_sdm.jobs.text import lm_blocks

    data = spec.data.pretrain
    seq_len = settings.get_int("training.pretrain.seq_len")
    micro = settings.get_int("training.pretrain.micro_batch_size")
    raw = load_split(source, PRETRAIN_FOLDER, (data.path, data.name), data.validation_split, "WikiText-103")
    blocks = lm_blocks(raw, tokenizer, data.text_field, seq_len, data.validation_split)
    with torch.no_grad():
        return _validation_perplexity(model, blocks, micro, runtime)
