"""The live environment against the spec's ``environment.*`` settings, whichever a paper's spec has: GPU model, memory
and count, CUDA, PyTorch version and build, Python, and any package's version; plus the packages an installed paper
pipeline names for the spec (this paper's: its scan kernels and FLOP counter).

``sdmspec env`` prints the rows; ``sdmspec run`` gates on the rows marked ``gating`` (the paper's hardware and
software versions): a mismatch refuses to start unless the user accepts it as a recorded deviation.
torch is imported only inside :func:`probe`, and only when it is installed.
"""

from __future__ import annotations

import importlib.util
import platform
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from enum import Enum
from typing import Any

from sdmspec.plugins import PluginError, references, resolve
from sdmspec.schema import PaperSpec, Setting, SettingType
from sdmspec.schema.setting import version_release


class Status(str, Enum):
    OK = "ok"
    MISMATCH = "mismatch"
    MISSING = "missing"
    INFO = "info"


@dataclass(frozen=True)
class LiveEnvironment:
    """What this machine has, as found by :func:`probe`. ``None`` means not present."""

    python: str
    platform: str
    torch: str | None = None
    torch_build: str | None = None
    cuda: str | None = None
    gpu: str | None = None
    gpu_memory_gb: float | None = None
    gpu_count: int = 0
    # The packages a pipeline's runs need (PackageCheck), by row name.
    packages: dict[str, PackageProbe] = field(default_factory=dict)
    notes: tuple[str, ...] = field(default=())

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def usable(self, name: str) -> bool:
        """Whether the package ``name`` was found and (for a CUDA extension) imports on this machine's GPU."""
        found = self.packages.get(name)
        return found is not None and found.version is not None and found.usable is not False


@dataclass(frozen=True)
class PackageProbe:
    """A package as found: its version (None: not installed) and, for a CUDA extension, whether it imports here
    (None: not a CUDA extension; False on a machine without a GPU)."""

    version: str | None
    usable: bool | None = None


@dataclass(frozen=True)
class PackageCheck:
    """A package a paper pipeline's runs need, shown as an environment row that never gates a run.

    A pipeline's ``environment`` hook (:mod:`sdmspec.plugins`) returns these for a spec: this paper's names its scan
    kernels (usable only where they import on a GPU) and its FLOP counter.
    """

    name: str
    distributions: tuple[str, ...]
    expected: str
    # (module, attribute) that must import on a GPU machine for the package to count as usable: CUDA extensions
    # install without CUDA and fail only when imported.
    cuda_import: tuple[str, str] | None = None


@dataclass(frozen=True)
class EnvRow:
    """One line of the comparison: what the spec expects, what was found, and whether it gates a run."""

    name: str
    expected: str
    found: str
    status: Status
    gating: bool
    source: str = ""

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "status": self.status.value}


@dataclass(frozen=True)
class EnvReport:
    live: LiveEnvironment
    rows: tuple[EnvRow, ...]

    @property
    def deviations(self) -> tuple[EnvRow, ...]:
        """Gating rows that do not match: the reasons a run refuses (or records, when allowed)."""
        return tuple(row for row in self.rows if row.gating and row.status is not Status.OK)

    @property
    def matches(self) -> bool:
        return not self.deviations

    def to_json(self) -> dict[str, Any]:
        return {
            "matches_spec": self.matches,
            "rows": [row.to_json() for row in self.rows],
            "live": self.live.to_json(),
        }


def _distribution_version(name: str) -> str | None:
    from importlib import metadata

    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def _usable(module: str, attribute: str) -> bool:
    """Whether a CUDA extension really imports (mamba-ssm installs without CUDA but then fails to import)."""
    try:
        imported = importlib.import_module(module)
        return hasattr(imported, attribute) or importlib.util.find_spec(f"{module}.{attribute}") is not None
    except Exception:  # a broken CUDA extension raises anything from ImportError to OSError
        return False


def pipeline_packages(spec: PaperSpec) -> list[PackageCheck]:
    """The packages the installed pipelines' runs of ``spec`` need (their ``environment`` hooks)."""
    found: list[PackageCheck] = []
    for pipeline, reference in references("environment"):
        hook = resolve(reference)
        checks = hook(spec) if callable(hook) else None
        if not isinstance(checks, list | tuple) or not all(isinstance(check, PackageCheck) for check in checks):
            raise PluginError(f"pipeline {pipeline.name!r}: {reference} does not return a list of PackageCheck")
        found.extend(checks)
    return found


def _probe_packages(checks: Sequence[PackageCheck], gpu: bool) -> dict[str, PackageProbe]:
    found: dict[str, PackageProbe] = {}
    for check in checks:
        version = next(filter(None, map(_distribution_version, check.distributions)), None)
        usable = None
        if check.cuda_import is not None:
            usable = gpu and version is not None and _usable(*check.cuda_import)
        found[check.name] = PackageProbe(version, usable)
    return found


def probe(packages: Sequence[PackageCheck] = ()) -> LiveEnvironment:
    """Inspect this machine (and ``packages``). Imports torch (when installed) to ask CUDA; never initialises more
    than it must."""
    base: dict[str, Any] = {"python": platform.python_version(), "platform": platform.platform()}
    if importlib.util.find_spec("torch") is None:
        base["packages"] = _probe_packages(packages, gpu=False)
        return LiveEnvironment(**base, notes=("torch is not installed (install the 'train' extra)",))
    import torch

    version = str(torch.__version__)
    base["torch"] = version.split("+")[0]
    base["torch_build"] = version.split("+")[1] if "+" in version else ("cpu" if torch.version.cuda is None else None)
    base["cuda"] = torch.version.cuda
    if torch.cuda.is_available():
        props = torch.cuda.get_device_properties(0)
        base["gpu"] = props.name
        base["gpu_memory_gb"] = round(props.total_memory / 2**30, 1)
        base["gpu_count"] = torch.cuda.device_count()
    base["packages"] = _probe_packages(packages, gpu="gpu" in base)
    return LiveEnvironment(**base)


def _gpu_matches(expected: str, found: str) -> bool:
    """Every word of the spec's GPU name ("NVIDIA A100 80GB") appears in the device's ("NVIDIA A100-SXM4-80GB")."""
    found_words = set(re.findall(r"[a-z0-9]+", found.lower()))
    return all(word in found_words for word in re.findall(r"[a-z0-9]+", expected.lower()))


ENVIRONMENT_SECTION = "environment."
# Spec keys under `environment.` this module knows how to probe, with their row names. Any other version-typed key
# (`environment.transformers: "4.40"`) is compared with the installed distribution of that name; other keys are
# shown for information.
_KNOWN_ROWS = {
    "gpu": "gpu",
    "gpu_memory_gb": "gpu memory",
    "cuda": "cuda",
    "pytorch": "pytorch",
    "pytorch_build": "pytorch build",
    "python": "python",
}


def _version_row(setting: Setting, name: str, found: str | None) -> EnvRow:
    expected = setting.expected_text()
    if found is None:
        return EnvRow(name, expected, "not found", Status.MISSING, True, setting.source)
    ok = setting.accepts(found) and version_release(found) is not None
    return EnvRow(name, expected, found, Status.OK if ok else Status.MISMATCH, True, setting.source)


def _present(name: str, version: str | None, usable: bool | None, expected: str) -> EnvRow:
    if version is None:
        return EnvRow(name, expected, "not installed", Status.MISSING, False)
    found = version if usable is None else f"{version} ({'usable' if usable else 'installed, not usable here'})"
    status = Status.OK if usable is not False else Status.MISSING
    return EnvRow(name, expected, found, status, False)


def _gpu_row(setting: Setting, live: LiveEnvironment) -> EnvRow:
    if live.gpu is None:
        return EnvRow("gpu", setting.expected_text(), "no CUDA GPU", Status.MISSING, True, setting.source)
    ok = _gpu_matches(str(setting.expected_value()), live.gpu)
    return EnvRow("gpu", setting.expected_text(), live.gpu, Status.OK if ok else Status.MISMATCH, True, setting.source)


def _memory_row(setting: Setting, live: LiveEnvironment) -> EnvRow:
    expected = f"{setting.expected_text()} GB"
    if live.gpu is None:
        return EnvRow("gpu memory", expected, "-", Status.MISSING, True, setting.source)
    wanted = setting.expected_value()
    want = float(wanted) if isinstance(wanted, int | float) else 0.0
    # Cards report a little less than their label (an "80GB" A100 shows about 79.2 GiB).
    ok = live.gpu_memory_gb is not None and abs(live.gpu_memory_gb - want) <= 0.05 * want
    found = f"{live.gpu_memory_gb} GiB"
    return EnvRow("gpu memory", expected, found, Status.OK if ok else Status.MISMATCH, True, setting.source)


def _setting_row(name: str, setting: Setting, live: LiveEnvironment) -> EnvRow:
    """The row of one ``environment.*`` setting: probed when this module knows it, else shown for information."""
    if name == "gpu":
        return _gpu_row(setting, live)
    if name == "gpu_memory_gb":
        return _memory_row(setting, live)
    if name == "pytorch_build":
        ok = live.torch_build is not None and setting.accepts(live.torch_build)
        status = Status.OK if ok else Status.MISMATCH
        return EnvRow(
            "pytorch build", setting.expected_text(), live.torch_build or "unknown", status, False, setting.source
        )
    if name == "gpu_count":
        ok = setting.accepts(live.gpu_count)
        status = Status.OK if ok else Status.MISMATCH
        return EnvRow("gpu count", setting.expected_text(), str(live.gpu_count), status, False, setting.source)
    known = {"cuda": live.cuda, "pytorch": live.torch, "python": live.python}
    if name in known or setting.type is SettingType.VERSION:
        found = known[name] if name in known else _distribution_version(name)
        row = _version_row(setting, _KNOWN_ROWS.get(name, name), found)
        # The paper's hardware and core versions gate a run; other packages are reported only.
        return row if name in ("cuda", "pytorch") else replace(row, gating=False)
    return EnvRow(name, setting.expected_text(), "not probed", Status.INFO, False, setting.source)


def check_environment(spec: PaperSpec, live: LiveEnvironment | None = None) -> EnvReport:
    """Compare ``live`` (default: :func:`probe`) with the spec's ``environment.*`` settings, whichever it has.

    The packages the installed pipelines name for this spec (:func:`pipeline_packages`) follow as rows that never
    gate a run.
    """
    packages = pipeline_packages(spec)
    live = live or probe(packages)
    rows = [
        _setting_row(key[len(ENVIRONMENT_SECTION) :], setting, live)
        for key, setting in spec.settings.items()
        if key.startswith(ENVIRONMENT_SECTION)
    ]
    for package in packages:
        found = live.packages.get(package.name, PackageProbe(None))
        usable = None if package.cuda_import is None else bool(found.usable and live.gpu)
        rows.append(_present(package.name, found.version, usable, package.expected))
    return EnvReport(live=live, rows=tuple(rows))
