"""A second paper's stage graph runs through the core runner with no line of the core changed, and none installed.

``TinyHooks`` is such a pipeline: two ``python -c`` stages and an option of its own, registered as the
``sdmspec.pipelines`` entry point would register it (``sdmspec.plugins.installed`` replaced, the mamba_sdm pipeline
absent). The runner plans, fingerprints, launches, records and reuses its stages as it does the paper's; ``sdmspec
run``'s help and options are its; with no pipeline at all, ``sdmspec run`` refuses in one line.
"""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from importlib.metadata import EntryPoint
from pathlib import Path
from typing import Any

import pytest
import typer
from runner_fakes import REPO

from sdmspec import plugins
from sdmspec.errors import EXIT_OK, EXIT_USAGE
from sdmspec.runner.fingerprint import StageInit
from sdmspec.runner.hooks import PlanContext, RunHooks, installed_hooks
from sdmspec.runner.manifest import Manifest, read_manifest
from sdmspec.runner.prepare import RunRequest
from sdmspec.runner.stage import Plan, Stage
from sdmspec.schema import PaperSpec

# The stage writes its second argument into FOLDER/done.txt (creating FOLDER): its marker.
WRITE = "import pathlib, sys; f = pathlib.Path(sys.argv[1]); f.mkdir(parents=True, exist_ok=True); "
WRITE += "(f / 'done.txt').write_text(sys.argv[2])"


def tiny_options(
    greeting: str = typer.Option("hello", "--greeting", help="What the first tiny stage writes."),
) -> dict[str, Any]:
    return {"greeting": greeting}


@dataclass(frozen=True)
class TinyExpectation:
    problem: str | None = None

    def describe(self) -> str:
        return "tiny stages: on this machine's cpu"

    def record(self) -> dict[str, Any]:
        return {"tiny": "cpu"}


class TinyHooks:
    def cli_options(self) -> Callable[..., Mapping[str, Any]]:
        return tiny_options

    def build_plan(self, spec: PaperSpec, context: PlanContext, options: Mapping[str, Any]) -> Plan:
        first, second = context.out / "write", context.out / "copy"
        greeting = options.get("greeting", "hello")
        return Plan(
            (
                Stage(
                    "write",
                    "make",
                    (context.python, "-c", WRITE, str(first), greeting),
                    (),
                    (str(first),),
                    (),
                    marker=str(first / "done.txt"),
                ),
                Stage(
                    "copy",
                    "use",
                    (context.python, "-c", WRITE, str(second), "copied", "--quiet", "yes"),
                    (str(first),),
                    (str(second),),
                    ("write",),
                    marker=str(second / "done.txt"),
                ),
            ),
            how_options=("--quiet",),
        )

    def resolve_inits(
        self,
        spec: PaperSpec,
        plan: Plan,
        settings: Mapping[str, Any],
        context: PlanContext,
        options: Mapping[str, Any],
        previous: Manifest | None,
    ) -> Mapping[str, StageInit]:
        return {}

    def expect(self, request: RunRequest) -> TinyExpectation:
        return TinyExpectation()

    def finished(self, stage: Stage) -> Mapping[str, Any]:
        return {"acceleration": {"ran": "tiny"}}


HOOKS = TinyHooks()
TINY = plugins.Pipeline(name="tiny", spec_type=PaperSpec, run=f"{__name__}:HOOKS")
ODD = plugins.Pipeline(name="odd", spec_type=PaperSpec, run="json:dumps")
BARE = plugins.Pipeline(name="bare", spec_type=PaperSpec)


def _install(monkeypatch: pytest.MonkeyPatch, *pipelines: str) -> None:
    """Only ``pipelines`` (names of Pipelines in this module) installed, as their entry points would declare them."""
    points = [EntryPoint(name, f"{__name__}:{name}", plugins.ENTRY_POINT_GROUP) for name in pipelines]
    monkeypatch.setattr(plugins, "entry_points", lambda group: points if group == plugins.ENTRY_POINT_GROUP else [])
    plugins.installed.cache_clear()  # the registry is read once per process


@pytest.fixture(autouse=True)
def _fresh_registry() -> Iterator[None]:
    yield
    plugins.installed.cache_clear()  # the next test finds the real entry points again


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The repository's configs against a spec of the core's sections alone: what the tiny pipeline's spec is."""
    spec = tmp_path / "spec"
    spec.mkdir()
    for name in ("paper.yaml", "config.yaml"):
        shutil.copy(REPO / "spec" / name, spec / name)
    shutil.copytree(REPO / "configs", tmp_path / "configs")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _main(*argv: str) -> int:
    from sdmspec.cli.app import main

    with pytest.raises(SystemExit) as exit_info:
        main(list(argv))
    code = exit_info.value.code
    return code if isinstance(code, int) else EXIT_USAGE


def test_the_installed_pipelines_hooks_are_found_and_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    _install(monkeypatch, "TINY")
    assert installed_hooks() is HOOKS and isinstance(HOOKS, RunHooks)
    _install(monkeypatch, "ODD")
    with pytest.raises(plugins.PluginError, match=r"is not a sdmspec\.runner\.hooks\.RunHooks"):
        installed_hooks()
    _install(monkeypatch, "TINY", "BARE")  # a pipeline without a stage graph beside one with
    assert installed_hooks() is HOOKS
    _install(monkeypatch, "BARE")
    assert installed_hooks() is None


def test_a_second_pipelines_graph_runs_and_reruns_through_the_core(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _install(monkeypatch, "TINY")
    out = project / "run"
    base = ("run", "--configs", "configs", "--spec", "spec", "--out", str(out), "--allow-env-mismatch")
    assert _main(*base, "--greeting", "bonjour", "--dry-run") == EXIT_OK
    shown = capsys.readouterr().out
    assert "write" in shown and "copy" in shown and "tiny stages: on this machine's cpu" in shown
    assert "2 of 2 selected stage(s) to run" in shown and not out.exists()

    assert _main(*base, "--greeting", "bonjour") == EXIT_OK
    assert (out / "write" / "done.txt").read_text() == "bonjour"
    assert (out / "copy" / "done.txt").read_text() == "copied"
    manifest = read_manifest(out)
    assert manifest is not None and manifest.acceleration == {"tiny": "cpu"}
    assert {name: (record.kind, record.status.value) for name, record in manifest.stages.items()} == {
        "write": ("make", "done"),
        "copy": ("use", "done"),
    }
    assert manifest.stages["copy"].acceleration == {"ran": "tiny"}  # what the hooks said the stage ran
    recorded = json.loads((out / "manifest.json").read_text())["stages"]["write"]["fingerprint"]
    capsys.readouterr()

    # A rerun reuses both; the pipeline's own option changes the first stage's command, so it must run again.
    assert _main(*base, "--greeting", "bonjour") == EXIT_OK
    assert "reused" in capsys.readouterr().out
    assert _main(*base, "--greeting", "hi", "--only", "make", "--dry-run") == EXIT_OK
    assert "1 of 1 selected stage(s) to run" in capsys.readouterr().out
    assert read_manifest(out).stages["write"].fingerprint == recorded  # type: ignore[union-attr]


def test_run_help_shows_the_installed_pipelines_options_only(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    _install(monkeypatch, "TINY")
    assert _main("run", "--help") == EXIT_OK
    text = capsys.readouterr().out
    assert "--greeting" in text and "--scan" not in text and "--init-from" not in text
    # Its options come after --data-dir, before the launch options, as the paper's do.
    assert text.index("--data-dir") < text.index("--greeting") < text.index("--rdzv-endpoint")


def test_with_no_pipeline_run_refuses_in_one_line_and_commands_still_run(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _install(monkeypatch, "BARE")
    assert _main("run", "--configs", "configs", "--spec", "spec", "--dry-run") == EXIT_USAGE
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(lines) == 1 and "no installed pipeline has a stage graph" in lines[0]
    # `-- CMD` needs no stage graph: the composed config is linted and the command would run.
    command = ("--config-name", "pretrain_sdm", "--", sys.executable, "train.py")
    assert _main("run", "--configs", "configs", "--spec", "spec", "--dry-run", *command) == EXIT_OK
    assert "would run:" in capsys.readouterr().out
