"""Light pipelines for runner tests: the real graph's shape, with ``fake_job.py`` as every job.

The stages keep the real contract (a job writes ``result.json`` last and resumes from its checkpoint; verify writes a
verdict; the report is the real report module), so the runner is exercised exactly as with real jobs, in seconds.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from mamba_sdm.spec import Spec
from mamba_sdm.stages import StageKind
from sdmspec.environment import LiveEnvironment, check_environment
from sdmspec.runner.execute import RunEvent, RunOutcome, execute
from sdmspec.runner.gate import EnvGate, env_gate
from sdmspec.runner.launchers.base import Launcher
from sdmspec.runner.launchers.local import LocalLauncher
from sdmspec.runner.manifest import Manifest, read_manifest
from sdmspec.runner.prepare import PreparedRun, RunRequest, prepare_run
from sdmspec.runner.stage import MarkerCheck, Plan, Stage, Trigger

FAKE_JOB = str(Path(__file__).with_name("fake_job.py"))
REPO = Path(__file__).resolve().parents[2]

# name -> (kind, upstreams, settings read)
GRAPH: dict[str, tuple[StageKind, tuple[str, ...], tuple[str, ...]]] = {
    "pretrain/dense": (StageKind.PRETRAIN, (), ("training.pretrain.",)),
    "pretrain/sdm": (StageKind.PRETRAIN, (), ("training.pretrain.",)),
    "challenge/base": (StageKind.CHALLENGE, ("pretrain/dense", "pretrain/sdm"), ()),
    "verify/base": (StageKind.VERIFY, ("challenge/base", "pretrain/sdm"), ()),
    "finetune/dense/sst2": (StageKind.FINETUNE, ("pretrain/dense",), ("training.finetune.", "epochs.sst2")),
    "finetune/dense/mrpc": (StageKind.FINETUNE, ("pretrain/dense",), ("training.finetune.", "epochs.mrpc")),
    "finetune/base/sst2": (
        StageKind.FINETUNE,
        ("challenge/base", "verify/base"),
        ("training.finetune.", "epochs.sst2"),
    ),
}


def fake_plan(out: Path, extra: Mapping[str, Sequence[str]] | None = None) -> Plan:
    """The fake pipeline in ``out``; ``extra`` adds fake_job.py options per stage (``--fail``, ``--steps 50``...)."""
    extra = extra or {}
    stages = []
    for name, (kind, upstream, reads) in GRAPH.items():
        folder = out / name
        verify = kind is StageKind.VERIFY
        marker = folder / ("iso_sparsity.json" if verify else "result.json")
        args = ["--out", str(folder), *(["--marker", "iso_sparsity.json"] if verify else [])]
        if verify and "--verdict" not in extra.get(name, ()):
            args += ["--verdict", "match"]
        stages.append(
            Stage(
                name=name,
                kind=kind.value,
                argv=(sys.executable, FAKE_JOB, *args, *extra.get(name, ())),
                inputs=tuple(str(out / dep) for dep in upstream),
                outputs=(str(folder),),
                depends_on=upstream,
                marker=str(marker),
                marker_check=MarkerCheck.VERDICT_MATCH if verify else MarkerCheck.EXISTS,
                reads_settings=reads,
                distributed=kind in (StageKind.PRETRAIN, StageKind.FINETUNE),
            )
        )
    stages.append(
        Stage(
            name="report",
            kind=StageKind.REPORT.value,
            argv=(sys.executable, "-m", "sdmspec", "job", "report", "--out", str(out)),
            inputs=(),
            outputs=(str(out / "report.md"),),
            depends_on=tuple(stage.name for stage in stages),
            marker=str(out / "report.md"),
            trigger=Trigger.AFTER_ANY,
        )
    )
    return Plan(tuple(stages))


def cpu_env(spec: Spec, allow: bool = True) -> EnvGate:
    """This CPU machine's comparison, without importing torch (a fixed probe)."""
    live = LiveEnvironment(python="3.11", platform="Linux", torch="2.13.0", torch_build="cpu")
    return env_gate(spec, allow_mismatch=allow, smoke=False, report=check_environment(spec, live))


def copy_configs(tmp: Path) -> Path:
    target = tmp / "configs"
    shutil.copytree(REPO / "configs", target)
    return target


def prepare(
    spec: Spec, out: Path, configs: Path, extra: Mapping[str, Sequence[str]] | None = None, **request: object
) -> PreparedRun:
    req = RunRequest(configs=configs, spec_path=REPO / "spec", out=out, argv=("test",), **request)
    return prepare_run(req, spec, cpu_env(spec), plan=fake_plan(out, extra))


def run_fake(
    spec: Spec,
    out: Path,
    configs: Path,
    extra: Mapping[str, Sequence[str]] | None = None,
    launcher: Launcher | None = None,
    jobs: int = 1,
    **request: object,
) -> tuple[RunOutcome, Manifest, list[RunEvent]]:
    prepared = prepare(spec, out, configs, extra, **request)
    events: list[RunEvent] = []
    outcome = execute(prepared, launcher or LocalLauncher(out / "logs", jobs=jobs), events.append)
    manifest = read_manifest(out)
    assert manifest is not None
    return outcome, manifest, events


def starts(out: Path, stage: str) -> list[tuple[float, int]]:
    """(time, resume step) of each launch of a fake stage."""
    path = out / stage / "starts.log"
    if not path.exists():
        return []
    return [(float(t), int(s)) for t, s in (line.split() for line in path.read_text().splitlines())]


def ran(events: Sequence[RunEvent]) -> set[str]:
    return {event.stage for event in events if event.kind == "start"}
