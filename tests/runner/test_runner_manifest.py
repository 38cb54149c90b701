"""OUT/manifest.json: what it records, that a reader never sees half of it, and that it is never clobbered."""

from __future__ import annotations

import fcntl
import hashlib
import json
import re
import threading
from pathlib import Path

import pytest
from runner_fakes import GRAPH, copy_configs, prepare, run_fake

from mamba_sdm.spec import Spec
from sdmspec.errors import SdmspecError
from sdmspec.runner.control import LOCK_NAME
from sdmspec.runner.execute import execute
from sdmspec.runner.launchers.local import LocalLauncher
from sdmspec.runner.manifest import Manifest


def test_the_manifest_ties_results_to_spec_configs_code_and_machine(spec: Spec, tmp_path: Path) -> None:
    out, configs = tmp_path / "run", copy_configs(tmp_path)
    _, manifest, _ = run_fake(spec, out, configs)
    raw = json.loads((out / "manifest.json").read_text())
    assert raw["spec_hash"] == spec.digest
    assert raw["config_hashes"] == {
        path.name: hashlib.sha256(path.read_bytes()).hexdigest() for path in sorted(configs.glob("*.yaml"))
    }
    assert raw["git_commit"] is None or re.fullmatch(r"[0-9a-f]{40}", raw["git_commit"])
    assert isinstance(raw["git_dirty"], bool | None)
    assert {row["name"] for row in raw["environment"]["rows"]} >= {"gpu", "cuda", "pytorch"}
    assert raw["launcher"] == "local" and raw["smoke"] is False
    assert [d["name"] for d in raw["deviations"]][:2] == ["gpu", "gpu memory"]
    for name in GRAPH:
        record = raw["stages"][name]
        assert record["status"] == "done"
        assert record["command"][1].endswith("fake_job.py")
        assert re.fullmatch(r"[0-9a-f]{64}", record["fingerprint"])
        assert record["started_at"] <= record["ended_at"] and record["duration_s"] >= 0
        assert record["outputs"] == [str(out / name)] and record["returncode"] == 0
        assert Path(record["log"]).is_file()
    assert manifest.stages["finetune/dense/mrpc"].settings["epochs.mrpc"] == 8
    origins = manifest.stages["finetune/dense/mrpc"].setting_origins
    assert {str(configs / "mamba_130m.yaml"), str(configs / "finetune_glue.yaml")} <= set(origins)
    assert str(configs / "pretrain_sdm.yaml") not in origins


def test_a_reader_never_sees_a_partial_manifest(spec: Spec, tmp_path: Path) -> None:
    out, configs = tmp_path / "run", copy_configs(tmp_path)
    path = out / "manifest.json"
    reads: list[int] = []
    errors: list[str] = []
    stop = threading.Event()

    def reader() -> None:
        while not stop.is_set():
            if path.exists():
                try:
                    Manifest.model_validate_json(path.read_bytes())
                    reads.append(1)
                except Exception as err:  # any parse or validation failure is a partial write
                    errors.append(repr(err))

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        run_fake(spec, out, configs)
    finally:
        stop.set()
        thread.join()
    assert not errors
    assert len(reads) > 20


def test_one_run_per_folder(spec: Spec, tmp_path: Path) -> None:
    out, configs = tmp_path / "run", copy_configs(tmp_path)
    out.mkdir()
    prepared = prepare(spec, out, configs)
    with (out / LOCK_NAME).open("w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        with pytest.raises(SdmspecError, match="another `sdmspec run`"):
            execute(prepared, LocalLauncher(out / "logs"))
    assert not (out / "manifest.json").exists()


def test_an_unreadable_manifest_is_reported_and_kept(spec: Spec, tmp_path: Path) -> None:
    out, configs = tmp_path / "run", copy_configs(tmp_path)
    out.mkdir()
    (out / "manifest.json").write_text('{"spec_hash": ')
    with pytest.raises(SdmspecError, match="cannot read the run's manifest"):
        prepare(spec, out, configs)
    assert (out / "manifest.json").read_text() == '{"spec_hash": '


def test_the_manifest_and_the_report_record_each_training_stages_precision(spec: Spec, tmp_path: Path) -> None:
    out, configs = tmp_path / "run", copy_configs(tmp_path)
    extra = {"pretrain/dense": ["--precision", "bf16"], "finetune/dense/sst2": ["--precision", "fp32"]}
    _, manifest, _ = run_fake(spec, out, configs, extra)
    assert manifest.stages["pretrain/dense"].precision == {
        "requested": "bf16", "autocast": "bf16", "tf32": False, "reason": "fake job"
    }  # fmt: skip
    assert manifest.stages["finetune/dense/sst2"].precision["autocast"] is None  # type: ignore[index]
    assert manifest.stages["pretrain/sdm"].precision is None  # its job recorded none
    report = (out / "report.md").read_text()
    assert "## Precision" in report
    assert "| pretrain/dense | bf16 | bf16 | False | fake job |" in report
    assert "| finetune/dense/sst2 | fp32 | none (fp32) | False | fake job |" in report
