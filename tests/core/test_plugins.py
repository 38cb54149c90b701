"""A second paper's pipeline plugs into the core through the entry point group alone, beside this paper's.

The pipeline here is a real package written to a folder with a ``.dist-info`` holding its entry point, put on the
path as an installed distribution would be: the core finds it with importlib.metadata, as it finds mamba_sdm. Its spec
section, command, validate area and setup-document part then work without any change to the core.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from sdmspec import plugins

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "resnet-cifar10"

PIPELINE_PACKAGE = {
    "__init__.py": """
        from pydantic import Field

        from sdmspec.plugins import Pipeline
        from sdmspec.schema import PaperSpec, Sourced


        class Augmentation(Sourced):
            crop_padding: int = Field(ge=0)
            flip: bool


        class CifarSpec(PaperSpec):
            augmentation_section: Augmentation | None = Field(default=None, alias="augmentation")

            def section_summary(self) -> list[str]:
                return [*super().section_summary(), *(["1 augmentation"] if self.has("augmentation") else [])]


        PIPELINE = Pipeline(
            name="cifar",
            spec_type=CifarSpec,
            commands={"augmentation": "cifar_pipeline.command"},
            validate_areas="cifar_pipeline.checks:AREAS",
            setup_doc="cifar_pipeline.doc:PARTS",
        )
    """,
    "command.py": """
        import typer

        from sdmspec.schema import load_spec


        def register(app: typer.Typer) -> None:
            @app.command("augmentation")
            def augmentation() -> None:
                '''Print the spec's augmentation.'''
                section = load_spec().section("augmentation")
                typer.echo(f"crop padding {section.crop_padding}, flip {section.flip}")
    """,
    "checks.py": """
        from sdmspec.validate import Area, CheckResult, CheckStatus


        def check(spec, options):
            padding = spec.section("augmentation").crop_padding
            status = CheckStatus.PASS if padding == 4 else CheckStatus.FAIL
            yield CheckResult("augmentation", status, f"crop padding {padding}")


        AREAS = (Area("augmentation", check, ("augmentation",)),)
    """,
    "doc.py": """
        from sdmspec.docs.render import DocParts


        def parts(spec):
            if not spec.has("augmentation"):
                return []
            return ["## Augmentation", "", f"Random crops padded by {spec.section('augmentation').crop_padding}.", ""]


        PARTS = DocParts(parts=parts, assumptions=lambda spec: [])
    """,
}


def _install(site: Path, package: dict[str, str], entry: str) -> None:
    folder = site / "cifar_pipeline"
    folder.mkdir(parents=True)
    for name, text in package.items():
        (folder / name).write_text(textwrap.dedent(text))
    info = site / "cifar_pipeline-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: cifar-pipeline\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[sdmspec.pipelines]\ncifar = {entry}\n")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    copy = tmp_path / "resnet-cifar10"
    shutil.copytree(EXAMPLE, copy)
    (copy / "spec" / "augmentation.yaml").write_text(
        "augmentation:\n  crop_padding: 4\n  flip: true\n  source: 'Section 4.2: 4 pixels are padded on each side'\n"
    )
    return copy


def _sdmspec(site: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), *filter(None, [os.environ.get("PYTHONPATH")])])}
    return subprocess.run(
        [sys.executable, "-m", "sdmspec", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


def test_a_second_pipelines_section_command_check_and_doc_part_work(tmp_path: Path, project: Path) -> None:
    site = tmp_path / "site"
    _install(site, PIPELINE_PACKAGE, "cifar_pipeline:PIPELINE")

    checked = _sdmspec(site, project, "spec", "check")
    assert checked.returncode == 0, checked.stderr
    assert "1 augmentation" in checked.stdout

    listed = _sdmspec(site, project, "--help")
    assert "augmentation" in listed.stdout and "lint" in listed.stdout
    ran = _sdmspec(site, project, "augmentation")
    assert (ran.returncode, ran.stdout.strip()) == (0, "crop padding 4, flip True")

    validated = _sdmspec(site, project, "validate", "--check", "augmentation")
    assert validated.returncode == 0, validated.stdout + validated.stderr
    assert "crop padding 4" in validated.stdout

    written = _sdmspec(site, project, "docs", "--output", str(tmp_path / "setup.md"))
    assert written.returncode == 0, written.stderr
    assert "## Augmentation\n\nRandom crops padded by 4." in (tmp_path / "setup.md").read_text()


def test_without_the_pipeline_its_section_is_an_unknown_section(tmp_path: Path, project: Path) -> None:
    checked = _sdmspec(tmp_path / "empty-site", project, "spec", "check")
    assert checked.returncode == 1
    assert "spec/augmentation.yaml" in checked.stdout and "unknown section" in checked.stdout


def test_a_broken_pipeline_is_named_in_one_line(tmp_path: Path, project: Path) -> None:
    site = tmp_path / "site"
    _install(site, PIPELINE_PACKAGE, "cifar_pipeline.missing:PIPELINE")
    result = _sdmspec(site, project, "lint")
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert "pipeline 'cifar' (cifar_pipeline.missing:PIPELINE) cannot be loaded" in result.stderr


def test_the_registry_finds_this_papers_pipeline() -> None:
    plugins.installed.cache_clear()
    names = {pipeline.name for pipeline in plugins.installed()}
    assert "mamba-sdm" in names


def test_the_same_pipeline_found_twice_is_one_pipeline(tmp_path: Path, project: Path) -> None:
    """An installed copy and a checkout described on the path (benchmarks/gpu_check.sh does so) name one pipeline."""
    site = tmp_path / "site"
    info = site / "sdmspec_checkout-0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: sdmspec-checkout\nVersion: 0\n")
    (info / "entry_points.txt").write_text("[sdmspec.pipelines]\nmamba-sdm = mamba_sdm.plugin:PIPELINE\n")
    result = _sdmspec(site, project, "--help")
    assert result.returncode == 0, result.stderr
    assert "variants" in result.stdout


def test_a_pipeline_part_that_does_not_load_is_named_in_one_line(tmp_path: Path, project: Path) -> None:
    site = tmp_path / "site"
    broken = {**PIPELINE_PACKAGE, "doc.py": "import a_module_nobody_has\n"}
    _install(site, broken, "cifar_pipeline:PIPELINE")
    result = _sdmspec(site, project, "docs", "--output", str(tmp_path / "setup.md"))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip().endswith(
        "the pipeline reference cifar_pipeline.doc:PARTS cannot be loaded: No module named 'a_module_nobody_has'"
    )
