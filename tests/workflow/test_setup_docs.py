"""`sdmspec docs`: EXPERIMENTAL_SETUP.md from spec/, deterministic, with sources; `--check` catches drift."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from workflow_helpers import CLI, REPO

from mamba_sdm.spec import Spec
from sdmspec.docs import check_setup_doc, render_setup, write_setup_doc
from sdmspec.schema import load_spec


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of the repo's spec and setup document: commands run here as in a user's checkout."""
    shutil.copytree(REPO / "spec", tmp_path / "spec")
    shutil.copy(REPO / "EXPERIMENTAL_SETUP.md", tmp_path / "EXPERIMENTAL_SETUP.md")
    return tmp_path


def test_committed_document_is_current(sdmspec: CLI) -> None:
    result = sdmspec("docs", "--check")
    assert result.returncode == 0, result.stdout + result.stderr


def test_rendering_is_deterministic_and_complete(spec: Spec) -> None:
    text = render_setup(spec)
    assert text == render_setup(load_spec(REPO / "spec"))
    for key, setting in spec.settings.items():
        assert f"`{key}`" in text
        assert setting.source.split(":")[-1].strip() in text
    for variant in spec.variants:
        assert f"`{variant.name}`" in text
    for title in ("Hardware and environment", "Data", "Models and variants", "Phase A", "Phase B", "Sparsity"):
        assert title in text
    assert "Profiling" in text and spec.profiling.flops_tool in text
    assert "129,135,360" in text and "371,516,416" in text
    # Assumptions are flagged where they appear and listed for confirmation.
    assert "**assumption**: target sparsity 0.5" in text
    assert "## Assumptions to confirm with the authors" in text
    assert text.endswith("\n") and not text.endswith("\n\n")


def test_write_is_idempotent(spec: Spec, tmp_path: Path) -> None:
    path = tmp_path / "EXPERIMENTAL_SETUP.md"
    assert write_setup_doc(path, spec) is True
    assert write_setup_doc(path, spec) is False
    assert check_setup_doc(path, spec).up_to_date
    assert [p.name for p in tmp_path.iterdir()] == ["EXPERIMENTAL_SETUP.md"]  # no temp file left behind


def test_check_fails_on_an_edited_document(sdmspec: CLI, project: Path) -> None:
    doc = project / "EXPERIMENTAL_SETUP.md"
    doc.write_text(doc.read_text().replace("| `128` |", "| `24` |"))
    result = sdmspec("docs", "--check", cwd=project)
    assert result.returncode == 1
    assert "-| `training.pretrain.batch_size` | `24` |" in result.stdout
    assert "+| `training.pretrain.batch_size` | `128` |" in result.stdout
    assert "sdmspec docs" in result.stderr
    assert sdmspec("docs", cwd=project).returncode == 0
    assert sdmspec("docs", "--check", cwd=project).returncode == 0


def test_check_fails_when_the_spec_changes(sdmspec: CLI, project: Path) -> None:
    config = project / "spec" / "config.yaml"
    config.write_text(config.read_text().replace("exact: 20\n", "exact: 30\n", 1))
    result = sdmspec("docs", "--check", cwd=project / "spec")  # found from a subfolder too
    assert result.returncode == 1
    assert "+| `training.pretrain.max_epochs` | `30` |" in result.stdout


def test_check_fails_when_the_document_is_missing(sdmspec: CLI, project: Path) -> None:
    (project / "EXPERIMENTAL_SETUP.md").unlink()
    result = sdmspec("docs", "--check", cwd=project)
    assert result.returncode == 1
    assert "missing" in result.stderr
    assert not (project / "EXPERIMENTAL_SETUP.md").exists()


def test_output_option_and_unreadable_spec(sdmspec: CLI, project: Path) -> None:
    out = project / "docs" / "setup.md"
    assert sdmspec("docs", "--output", str(out), cwd=project).returncode == 0
    assert out.read_text() == (project / "EXPERIMENTAL_SETUP.md").read_text()
    (project / "spec" / "paper.yaml").write_text("paper: [unclosed\n")
    result = sdmspec("docs", "--check", cwd=project)
    assert result.returncode == 2
    assert result.stderr.startswith("sdmspec: error:") and "Traceback" not in result.stderr


def test_parts_follow_the_specs_sections_and_titles(tmp_path: Path) -> None:
    (tmp_path / "paper.yaml").write_text("paper: {title: A paper, source: Section 4}\n")
    (tmp_path / "config.yaml").write_text(
        "config:\n"
        "  optim:\n"
        "    lr: {type: float, exact: 0.1, source: '4: lr 0.1'}\n"
        "    schedule:\n"
        "      title: Schedule\n"
        "      description: Step decay.\n"
        "      milestones: {type: 'list[int]', exact: [30, 60], source: '4: at 30 and 60'}\n"
        "  seed: {type: int, unspecified: true, default: 0, source: 'TODO: quote the paper'}\n"
    )
    text = render_setup(load_spec(tmp_path))
    headings = [line for line in text.splitlines() if line.startswith("## ")]
    assert headings == ["## `optim`", "## Schedule", "## Settings", "## Assumptions to confirm with the authors"]
    assert "Step decay.\n\n| Setting" in text and "| `optim.schedule.milestones` | `[30, 60]` |" in text
    assert "Sources still to quote from the paper (TODO): `seed`." in text
    assert "sdmspec env" not in text and "Mamba" not in text
