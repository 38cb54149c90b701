"""A full disk and paths of the wrong kind end in one line; the run's manifest stays consistent (never "running")."""

from __future__ import annotations

import errno
import json
import pickle
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from runner_fakes import copy_configs, prepare, ran, run_fake, starts

from mamba_sdm.spec import Spec
from sdmspec import io
from sdmspec.cli.app import main
from sdmspec.errors import EXIT_DISK_FULL, EXIT_USAGE, DiskFullError
from sdmspec.io import human_bytes
from sdmspec.runner import manifest as manifest_module
from sdmspec.runner.execute import RunEvent, execute
from sdmspec.runner.launchers.local import LocalLauncher
from sdmspec.runner.launchers.slurm import SlurmLauncher, SlurmOptions, StageExitError, failed_status
from sdmspec.runner.launchers.torchrun import TorchrunLauncher
from sdmspec.runner.manifest import RESERVE_NAME, read_manifest
from sdmspec.runner.torchrun_main import exit_status


def _no_space(*args: object, **kwargs: object) -> None:
    raise OSError(errno.ENOSPC, "No space left on device")


def test_an_atomic_write_on_a_full_disk_names_the_path_and_the_space_and_leaves_no_temp(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "result.json"
    monkeypatch.setattr(Path, "write_bytes", _no_space)
    with pytest.raises(DiskFullError) as caught:
        io.atomic_write_bytes(target, b"x" * 2048)
    message = str(caught.value)
    assert message.startswith(f"no space left on device writing {target} (needs 2.0 KiB; ")
    assert "free on that filesystem" in message and caught.value.exit_code == EXIT_DISK_FULL
    assert list(tmp_path.iterdir()) == []  # the temporary file went with the failed write


def test_a_library_write_failing_on_a_nearly_full_disk_is_a_disk_full(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def torch_like(path: Path) -> None:
        raise RuntimeError("[enforce fail at inline_container.cc:626] . unexpected pos 64 vs 0: file write failed")

    monkeypatch.setattr(io, "free_bytes", lambda path: 0)
    with pytest.raises(DiskFullError, match=r"no space left on device writing .*model\.safetensors"):
        io.atomic_save(tmp_path / "model.safetensors", torch_like)
    monkeypatch.setattr(io, "free_bytes", lambda path: 10 << 30)
    with pytest.raises(RuntimeError, match="file write failed"):  # plenty of room: not a disk-full, said as it is
        io.atomic_save(tmp_path / "model.safetensors", torch_like)


def test_enospc_from_any_write_is_one_line_from_the_cli(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    def full(self: Path, *args: object, **kwargs: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device", str(self))

    monkeypatch.setattr(Path, "write_bytes", full)
    with pytest.raises(SystemExit) as caught:
        main(["spec", "schema", "-o", str(tmp_path / "schema.json")])
    assert caught.value.code == EXIT_DISK_FULL
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("sdmspec: error: no space left on device writing ")
    assert str(tmp_path / "schema.json") in lines[0]


def test_on_a_real_small_filesystem_a_full_disk_is_one_line(tmp_path: Path) -> None:
    """A 4 KiB tmpfs in a user and mount namespace: the real ENOSPC, through the real CLI (the schema is ~10 KB)."""
    mount = tmp_path / "small"
    mount.mkdir()
    probe = subprocess.run(["unshare", "-rm", "true"], capture_output=True, check=False) if shutil.which("unshare") \
        else None  # fmt: skip
    if probe is None or probe.returncode != 0:
        pytest.skip("no unprivileged user+mount namespaces here (unshare -rm); the injected-ENOSPC tests stand in")
    script = (
        f"mount -t tmpfs -o size=4k tmpfs {mount} && cd {Path.cwd()} && "
        f"{sys.executable} -m sdmspec spec schema -o {mount}/schema.json; echo rc=$?; ls -A {mount}"
    )
    done = subprocess.run(["unshare", "-rm", "sh", "-c", script], capture_output=True, text=True, check=False)
    err = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(err) == 1 and err[0].startswith(f"sdmspec: error: no space left on device writing {mount}/schema.json")
    # The space named is the schema's own size (what `spec schema` prints to stdout), whatever the spec holds.
    schema = subprocess.run([sys.executable, "-m", "sdmspec", "spec", "schema"], capture_output=True, check=True)
    assert f"(needs {human_bytes(len(schema.stdout))}; 0 B free on that filesystem)" in err[0], err
    out = done.stdout.split()
    assert out[0] == f"rc={EXIT_DISK_FULL}" and out[1:] == []  # no schema, no temporary file left


class _FullAfterLaunch:
    """The manifest's writes find no space once ``pretrain/dense`` runs, except in the room the reserve frees:
    what a disk filled by another process looks like to the runner."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self.real = manifest_module.atomic_write_text

    def __call__(self, path: Path, text: str) -> None:
        reserve_held = (self.out / RESERVE_NAME).exists()
        if reserve_held and starts(self.out, "pretrain/dense") and json.loads(text)["stages"]["pretrain/dense"]:
            raise io.disk_full_error(path, len(text.encode()))
        self.real(path, text)


def test_a_full_disk_under_the_runner_stops_the_stages_and_leaves_the_manifest_consistent(
    spec: Spec, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out, configs = tmp_path / "run", copy_configs(tmp_path)
    slow = {"pretrain/dense": ["--steps", "400", "--step-s", "0.02"]}
    monkeypatch.setattr(manifest_module, "atomic_write_text", _FullAfterLaunch(out))
    prepared = prepare(spec, out, configs, slow)
    events: list[RunEvent] = []
    with pytest.raises(DiskFullError) as caught:
        execute(prepared, LocalLauncher(out / "logs", jobs=2), events.append)  # pretrain/sdm ends while dense runs
    message = str(caught.value)
    assert message.startswith(f"no space left on device writing {out}/manifest.json (needs ")
    assert message.endswith("its stages stopped and recorded in the manifest; free space, then rerun to resume")

    manifest = read_manifest(out)
    assert manifest is not None
    statuses = {name: record.status.value for name, record in manifest.stages.items()}
    assert "running" not in statuses.values()
    assert statuses["pretrain/dense"] == "interrupted"
    assert manifest.invocations[-1].outcome == "disk full"
    assert not (out / RESERVE_NAME).exists() and not list(out.glob(".*.tmp"))

    monkeypatch.undo()  # space freed: the rerun resumes the stopped stage
    outcome, _, _ = run_fake(spec, out, configs, slow)
    assert outcome.exit_code == 0
    assert [step for _, step in starts(out, "pretrain/dense")][1] > 0


def test_a_stage_that_fills_the_disk_ends_the_run_with_its_line(spec: Spec, tmp_path: Path) -> None:
    out, configs = tmp_path / "run", copy_configs(tmp_path)
    with pytest.raises(DiskFullError) as caught:
        run_fake(spec, out, configs, {"pretrain/dense": ["--disk-full"]})
    assert str(caught.value).startswith(
        f"stage pretrain/dense: no space left on device writing {out}/pretrain/dense/model/model.safetensors "
        "(needs 1.0 KiB; 0 B free on that filesystem); nothing new was started"
    )
    manifest = read_manifest(out)
    assert manifest is not None
    assert manifest.stages["pretrain/dense"].status.value == "failed"
    assert str(manifest.stages["pretrain/dense"].message).startswith("no space left on device writing")
    assert manifest.stages["challenge/base"].status.value == "pending"  # nothing started after the disk filled
    assert manifest.invocations[-1].outcome == "disk full"


def test_stale_temporary_files_of_a_killed_runner_are_removed(spec: Spec, tmp_path: Path) -> None:
    out, configs = tmp_path / "run", copy_configs(tmp_path)
    out.mkdir()
    leftover = out / ".manifest.json.abc123.tmp"
    leftover.write_text("{half")
    _, _, events = run_fake(spec, out, configs)
    assert not leftover.exists() and ran(events)


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["run", "--smoke", "--out", "{file}"], "--out {file}: is a file, not a folder"),
        (["run", "--smoke", "--data-dir", "{file}"], "--data-dir {file}: is a file, not a folder"),
        (["job", "pretrain", "--variant", "mamba-130m-dense", "--out", "{file}", "--smoke"], "--out {file}: is a file"),
        (
            ["job", "pretrain", "--variant", "mamba-130m-dense", "--out", "{dir}/o", "--smoke", "--data-dir", "{file}"],
            "--data-dir {file}: is a file, not a folder",
        ),
        (["verify-sparsity", "{dir}", "{dir}", "--plot", "{dir}"], "--plot {dir}: is a folder, not a file"),
        (
            [
                "job",
                "pretrain",
                "--variant",
                "mamba-130m-dense",
                "--out",
                "{dir}/o",
                "--smoke",
                "--configs",
                "{dir}/no",
            ],
            "--configs {dir}/no: no such file or folder",
        ),
        (
            [
                "job",
                "finetune",
                "--variant",
                "mamba-130m-dense",
                "--task",
                "nope",
                "--checkpoint",
                "{dir}",
                "--out",
                "{dir}/o",
                "--smoke",
            ],
            "unknown task 'nope'",
        ),
    ],
)
def test_paths_of_the_wrong_kind_and_unknown_names_are_one_line_and_exit_2(
    argv: list[str], fragment: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    file = tmp_path / "a-file"
    file.write_text("not a folder")
    values = {"file": str(file), "dir": str(tmp_path)}
    with pytest.raises(SystemExit) as caught:
        main([arg.format(**values) for arg in argv])
    assert caught.value.code == EXIT_USAGE
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("sdmspec: error: ") and fragment.format(**values) in lines[0]


@pytest.mark.train
def test_a_stage_under_torchrun_that_fills_the_disk_is_a_full_disk(spec: Spec, tmp_path: Path) -> None:
    """torchrun itself exits 1 when a worker fails: the launcher's torchrun keeps the worker's status (4)."""
    out, configs = tmp_path / "run", copy_configs(tmp_path)
    launcher = TorchrunLauncher(out / "logs", nproc=2)
    with pytest.raises(DiskFullError, match=r"^stage pretrain/dense: no space left on device"):
        run_fake(spec, out, configs, {"pretrain/dense": ["--disk-full"]}, launcher=launcher, only=("pretrain/dense",))
    manifest = read_manifest(out)
    assert manifest is not None and manifest.stages["pretrain/dense"].returncode == EXIT_DISK_FULL


def test_a_stage_job_on_slurm_that_fills_the_disk_is_a_full_disk(spec: Spec, tmp_path: Path) -> None:
    out, configs = tmp_path / "run", copy_configs(tmp_path)
    options = SlurmOptions(folder=out / "slurm", cluster="local", use_gpus=False, timeout_min=10)
    with pytest.raises(DiskFullError, match=r"^stage pretrain/dense: no space left on device"):
        run_fake(spec, out, configs, {"pretrain/dense": ["--disk-full"]}, launcher=SlurmLauncher(options))


@pytest.mark.parametrize(
    ("codes", "status"),
    [([4], 4), ([1, 4], 4), ([130, 130], 130), ([130, 1], 1), ([-9, 2], 2), ([-15], 1), ([], 1)],
)
def test_torchruns_status_is_its_failed_workers(codes: list[int], status: int) -> None:
    assert exit_status(codes) == status


def test_a_slurm_jobs_failure_carries_its_status() -> None:
    failure = StageExitError("python -m sdmspec job pretrain", EXIT_DISK_FULL)
    assert failed_status(f"Job failed with trace:\n{failure!s}\n") == EXIT_DISK_FULL
    assert failed_status("submitit: node lost") == 1
    assert pickle.loads(pickle.dumps(failure)).status == EXIT_DISK_FULL  # submitit pickles what a job raises
