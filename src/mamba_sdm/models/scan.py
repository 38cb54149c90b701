"""Which implementation of Mamba's selective scan a model runs: a choice made once per job and recorded.

transformers' Mamba can run the scan three ways, all computing the same function:

- ``kernels``: mamba-ssm's fused CUDA kernels and causal-conv1d (the ``cuda`` extra); GPUs only.
- ``parallel``: the parallel (Blelloch) scan of the pure-PyTorch ``mambapy`` package, which transformers calls when
  ``MambaConfig.use_mambapy`` is set; any device, no compiled extension.
- ``reference``: the sequential loop over positions, a few small kernels per token per layer. Correct and slow: on
  an H200 a full-size Mamba-130m step at 8 x 1024 tokens took 40 s (issue 10). Used only when asked for.

``auto`` takes the kernels where they are usable, else the parallel scan. It falls back to the reference loop only
on a CPU without ``mambapy`` (and says so); on a GPU it refuses rather than run months-long jobs silently.

transformers binds mamba-ssm when its module is imported, process-wide. So that a CPU model, or a model asked to
run ``parallel``/``reference``, never reaches a kernel meant for another path, every mixer gets a forward pre-hook
that binds the functions its choice needs just before it runs (cheap: a few attribute writes per layer). Two layouts
of transformers are handled: module-level scan functions (transformers >= 5.x, the functions decorated with a
kernel fallback) and mixers with ``cuda_kernels_forward``/``slow_forward`` methods (4.x); in the latter, transformers
uses ``mambapy`` in training only, so evaluation runs the loop and the choice's reason says so.
"""

from __future__ import annotations

import enum
import importlib
import importlib.metadata
import inspect
import sys
from dataclasses import dataclass
from types import MethodType, ModuleType
from typing import TYPE_CHECKING, Any

from sdmspec.errors import SdmspecError

if TYPE_CHECKING:
    from torch import nn


class Scan(str, enum.Enum):
    """A requested scan implementation (``auto`` resolves to one of the other three)."""

    AUTO = "auto"
    KERNELS = "kernels"
    PARALLEL = "parallel"
    REFERENCE = "reference"


SCAN_CHOICES = tuple(scan.value for scan in Scan)
# The scan functions transformers' functional layout binds to mamba-ssm/causal-conv1d when they import.
_KERNEL_FUNCTIONS = (
    "mamba_inner_fn",
    "mamba_selective_scan",
    "mamba_selective_state_update",
    "causal_conv1d_fn",
    "causal_conv1d_update",
)


@dataclass(frozen=True)
class ScanChoice:
    """The scan a job runs: what was requested, what it resolved to and why."""

    requested: Scan
    path: Scan
    reason: str

    def record(self) -> dict[str, str]:
        """The fields metrics, result.json, profile.json and the manifest store."""
        return {"scan": self.path.value, "scan_requested": self.requested.value, "scan_reason": self.reason}


def parse_scan(value: str | Scan) -> Scan:
    """``value`` as a Scan; one-line error naming the choices otherwise."""
    if isinstance(value, Scan):
        return value
    try:
        return Scan(value.strip().lower())
    except ValueError:
        raise SdmspecError(f"--scan must be one of {', '.join(SCAN_CHOICES)}, got {value!r}") from None


def kernels_status() -> tuple[bool, str]:
    """Whether mamba-ssm's and causal-conv1d's CUDA kernels import here, with the reason when they do not."""
    for module in ("mamba_ssm", "causal_conv1d"):
        try:
            importlib.import_module(module)
        except Exception as err:  # ImportError, or an OSError/RuntimeError from a CUDA build that cannot load
            return False, f"{module} is not usable ({type(err).__name__}: {_first_line(err)})"
    return True, "mamba-ssm and causal-conv1d import"


def parallel_status() -> tuple[bool, str]:
    """Whether the pure-PyTorch parallel scan (the ``mambapy`` package) is importable."""
    try:
        importlib.import_module("mambapy.pscan")
    except Exception as err:
        return False, f"mambapy is not usable ({type(err).__name__}: {_first_line(err)}); pip install mambapy"
    return True, "mambapy's parallel scan imports"


def resolve_scan(requested: str | Scan, device_type: str) -> ScanChoice:
    """The scan path ``requested`` means on a ``device_type`` ("cpu", "cuda") device; refuses what cannot run."""
    scan = parse_scan(requested)
    on_gpu = device_type == "cuda"
    if scan is Scan.REFERENCE:
        return ScanChoice(scan, scan, "asked for (--scan reference): the sequential loop, slow")
    if scan is Scan.KERNELS:
        if not on_gpu:
            raise SdmspecError(f"--scan kernels needs a CUDA device; this job runs on {device_type}")
        usable, why = kernels_status()
        if not usable:
            raise SdmspecError(f"--scan kernels: {why}; install the `cuda` extra or use --scan parallel")
        return ScanChoice(scan, scan, f"asked for: {why}")
    if scan is Scan.PARALLEL:
        usable, why = parallel_status()
        if not usable:
            raise SdmspecError(f"--scan parallel: {why}")
        return ScanChoice(scan, scan, f"asked for: {why}{training_only_caveat()}")
    # auto
    if on_gpu:
        usable, kernels_why = kernels_status()
        if usable:
            return ScanChoice(scan, Scan.KERNELS, f"auto on CUDA: {kernels_why}")
    else:
        kernels_why = f"mamba-ssm's kernels run on CUDA only, this job runs on {device_type}"
    usable, parallel_why = parallel_status()
    if usable:
        return ScanChoice(scan, Scan.PARALLEL, f"auto: {kernels_why}; {parallel_why}{training_only_caveat()}")
    if on_gpu:
        raise SdmspecError(
            f"--scan auto on CUDA found neither fast path ({kernels_why}; {parallel_why}); refusing to run the "
            "sequential reference loop on a GPU silently: install mambapy, or pass --scan reference"
        )
    return ScanChoice(scan, Scan.REFERENCE, f"auto: {kernels_why}; {parallel_why}; the sequential loop")


def training_only_caveat() -> str:
    """What the reason of a parallel choice must add under transformers' older layout (4.x), where ``slow_forward``
    takes mambapy's scan in training only and runs the loop in evaluation; empty under the functional layout (5.x).

    The layout is read off the modeling module when it is already imported, else off transformers' version, so that
    planning a run (``sdmspec run --dry-run``) does not pay for importing the model code.
    """
    modeling = sys.modules.get(_MODELING)
    if modeling is not None:
        older = not all(hasattr(modeling, name) for name in _KERNEL_FUNCTIONS)
    else:
        try:
            major = int(importlib.metadata.version("transformers").split(".")[0])
        except (importlib.metadata.PackageNotFoundError, ValueError):
            return ""
        older = major < 5
    if not older:
        return ""
    return (
        f"; transformers {_transformers_version()} uses it in training only: evaluation and latency run the "
        "sequential loop (transformers >= 5 uses it everywhere)"
    )


def apply_scan(model: nn.Module, choice: ScanChoice) -> int:
    """Make every Mamba mixer of ``model`` run ``choice.path``; returns how many mixers were set.

    The model's config records the choice too (``use_mambapy``), so a saved model folder says how it was run.
    """
    modeling = _modeling_module()
    mixers = [module for module in model.modules() if isinstance(module, modeling.MambaMixer)]
    if not mixers:
        raise SdmspecError(f"{type(model).__name__} has no Mamba mixer to set the scan of")
    parallel = choice.path is Scan.PARALLEL
    config = getattr(model, "config", None)
    if config is not None:
        config.use_mambapy = parallel
        if hasattr(config, "use_associative_scan"):
            # Only active under torch.compile tracing; off so that "reference" is the loop there too.
            config.use_associative_scan = False
    for mixer in mixers:
        mixer.use_mambapy = parallel
        if hasattr(mixer, "use_associative_scan"):
            mixer.use_associative_scan = False
        _bind(mixer, modeling, kernels=choice.path is Scan.KERNELS)
    return len(mixers)


def scan_of(model: nn.Module) -> Scan | None:
    """The scan path :func:`apply_scan` set on ``model`` (None when it was never set)."""
    for module in model.modules():
        path = getattr(module, _CHOICE_ATTRIBUTE, None)
        if isinstance(path, Scan):
            return path
    return None


_CHOICE_ATTRIBUTE = "_sdmspec_scan"
_HOOK_ATTRIBUTE = "_sdmspec_scan_hook"


def _bind(mixer: nn.Module, modeling: ModuleType, *, kernels: bool) -> None:
    path = Scan.KERNELS if kernels else Scan.PARALLEL if mixer.use_mambapy else Scan.REFERENCE
    setattr(mixer, _CHOICE_ATTRIBUTE, path)
    previous = getattr(mixer, _HOOK_ATTRIBUTE, None)
    if previous is not None:
        previous.remove()
    if all(hasattr(modeling, name) for name in _KERNEL_FUNCTIONS):
        functions = _functional_bindings(modeling, kernels=kernels)

        def bind_functions(_module: nn.Module, _args: Any) -> None:
            for name, function in functions.items():
                setattr(modeling, name, function)

        setattr(mixer, _HOOK_ATTRIBUTE, mixer.register_forward_pre_hook(bind_functions))
    elif hasattr(mixer, "slow_forward") and hasattr(mixer, "cuda_kernels_forward"):
        # Older layout: forward() picks the kernels by itself when they import and the weights are on CUDA.
        if kernels:
            mixer.__dict__.pop("forward", None)
        else:
            mixer.forward = MethodType(_slow_forward, mixer)
    else:
        raise SdmspecError(
            f"transformers {_transformers_version()}: its Mamba mixer has neither known layout; cannot set the scan"
        )


def _slow_forward(self: Any, hidden_states: Any, *args: Any, **kwargs: Any) -> Any:
    return self.slow_forward(hidden_states, *args, **kwargs)


# Per process: {kernels?: {function name: function}}; the originals are captured once, before any rebinding.
_ORIGINALS: dict[str, Any] = {}


def _functional_bindings(modeling: ModuleType, *, kernels: bool) -> dict[str, Any]:
    if not _ORIGINALS:
        _ORIGINALS.update({name: getattr(modeling, name) for name in _KERNEL_FUNCTIONS})
    if kernels:
        return dict(_ORIGINALS)
    # The decorator wraps the PyTorch function with functools.wraps, so unwrap() reaches it whatever was bound.
    return {name: inspect.unwrap(function) for name, function in _ORIGINALS.items()}


_MODELING = "transformers.models.mamba.modeling_mamba"


def _modeling_module() -> ModuleType:
    return importlib.import_module(_MODELING)


def _transformers_version() -> str:
    try:
        return importlib.metadata.version("transformers")
    except importlib.metadata.PackageNotFoundError:
        return "(not installed)"


def _first_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return text[0] if text else type(err).__name__
