"""The live environment is compared with the spec's environment settings; only gating rows refuse a run."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from mamba_sdm.spec import Spec
from sdmspec.environment import LiveEnvironment, PackageProbe, Status, check_environment, probe
from sdmspec.schema import load_spec

PAPER_MACHINE = LiveEnvironment(
    python="3.11.7",
    platform="Linux",
    torch="2.1.2",
    torch_build="cu121",
    cuda="12.1",
    gpu="NVIDIA A100-SXM4-80GB",
    gpu_memory_gb=79.2,
    gpu_count=8,
    packages={
        "mamba-ssm": PackageProbe("1.2.0", usable=True),
        "causal-conv1d": PackageProbe("1.2.0", usable=True),
        "fvcore": PackageProbe("0.1.5"),
    },
)


def test_the_papers_machine_matches(spec: Spec) -> None:
    report = check_environment(spec, PAPER_MACHINE)
    assert report.matches, report.deviations
    assert all(row.status is Status.OK for row in report.rows)


def test_a_cpu_machine_deviates_on_every_hardware_row(spec: Spec) -> None:
    cpu = LiveEnvironment(
        python="3.11", platform="Linux", torch="2.13.0", torch_build="cpu", packages={"fvcore": PackageProbe("0.1.5")}
    )
    names = {row.name for row in check_environment(spec, cpu).deviations}
    assert names == {"gpu", "gpu memory", "cuda", "pytorch"}


def test_a_smaller_card_or_other_pytorch_is_a_deviation(spec: Spec) -> None:
    smaller = replace(PAPER_MACHINE, gpu="NVIDIA A100-SXM4-40GB", gpu_memory_gb=39.4)
    assert {row.name for row in check_environment(spec, smaller).deviations} == {"gpu", "gpu memory"}
    newer = replace(PAPER_MACHINE, torch="2.2.0")
    assert {row.name for row in check_environment(spec, newer).deviations} == {"pytorch"}


def test_missing_kernels_are_reported_but_do_not_gate(spec: Spec) -> None:
    report = check_environment(
        spec, replace(PAPER_MACHINE, packages={**PAPER_MACHINE.packages, "mamba-ssm": PackageProbe(None)})
    )
    row = next(row for row in report.rows if row.name == "mamba-ssm")
    assert row.status is Status.MISSING and not row.gating
    assert report.matches


@pytest.mark.train
def test_probe_describes_this_machine() -> None:
    live = probe()
    assert live.python.count(".") == 2
    assert live.torch is not None  # the dev set-up installs the train extra


def _spec_with(tmp_path: Path, environment: str) -> Spec:
    (tmp_path / "paper.yaml").write_text("paper: {title: t, source: s}\n")
    (tmp_path / "config.yaml").write_text(f"config:\n  environment:\n{environment}")
    return load_spec(tmp_path)


def test_another_papers_environment_gets_its_own_rows_only(tmp_path: Path) -> None:
    spec = _spec_with(
        tmp_path,
        "    pytorch: {type: version, exact: '2.1', source: s}\n"
        "    pyyaml: {type: version, exact: '1.0', source: s}\n"
        "    gpu_count: {type: int, exact: 8, source: s}\n"
        "    cluster: {type: str, exact: slurm, source: s}\n",
    )
    rows = {row.name: row for row in check_environment(spec, PAPER_MACHINE).rows}
    # No Mamba kernels or fvcore without this pipeline's sections; a version key is read from the installed package.
    assert set(rows) == {"pytorch", "pyyaml", "gpu count", "cluster"}
    assert rows["pytorch"].status is Status.OK and rows["pytorch"].gating
    assert (
        rows["pyyaml"].status is Status.MISMATCH and rows["pyyaml"].found.startswith("6.") and not rows["pyyaml"].gating
    )
    assert rows["gpu count"].status is Status.OK and rows["gpu count"].found == "8"
    assert rows["cluster"].status is Status.INFO


def test_a_spec_without_environment_settings_has_no_rows(tmp_path: Path) -> None:
    (tmp_path / "paper.yaml").write_text("paper: {title: t, source: s}\n")
    (tmp_path / "config.yaml").write_text("config:\n  lr: {type: float, exact: 0.1, source: s}\n")
    report = check_environment(load_spec(tmp_path), PAPER_MACHINE)
    assert report.rows == () and report.matches
