"""Each job's inputs as one model: the flags and ``--config stage.json`` build the same one, the job runs the same
from either, a bad stage.json is one line (exit 2), ``what`` and ``how`` are apart; result.json as one model."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from job_helpers import CONFIGS, read_json, run_cli
from test_job_cli import assert_one_line_error

from mamba_sdm.jobs.inputs import (
    ChallengeInputs,
    FinetuneInputs,
    PretrainInputs,
    finetune_reads,
    finetune_settings,
    pretrain_reads,
    pretrain_settings,
    read_inputs,
)
from mamba_sdm.jobs.result import RESULT_FILE, Result, read_result, write_result
from sdmspec.cli.app import main
from sdmspec.errors import EXIT_USAGE, SdmspecError


def _exit_code(argv: list[str]) -> int:
    with pytest.raises(SystemExit) as stopped:
        main(argv)
    return int(stopped.value.code or 0)


def _captured(monkeypatch: pytest.MonkeyPatch, module: str, function: str) -> list[dict[str, Any]]:
    """Replace the job function by one recording what it was called with (the CLI imports it when it runs)."""
    calls: list[dict[str, Any]] = []

    def fake(options: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
        calls.append({"options": options, **kwargs})
        return {"job": "x", "variant": options.variant, "metrics": {}, "verdict": "match"}

    monkeypatch.setattr(f"mamba_sdm.jobs.{module}.{function}", fake)
    return calls


def _stage_file(tmp_path: Path, inputs: Any) -> Path:
    path = tmp_path / "stage.json"
    path.write_text(inputs.to_json(), encoding="utf-8")
    return path


PRETRAIN_FLAGS = [
    "job", "pretrain", "--variant", "mamba-130m-sdm", "--configs", str(CONFIGS), "--smoke", "--seed", "3",
    "--max-steps", "2", "--precision", "fp32", "--scan", "reference", "--device", "cpu", "--log-every", "1",
    "--report-to", "tensorboard", "--quiet",
]  # fmt: skip


def test_flags_and_config_build_equal_models(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _captured(monkeypatch, "pretrain", "run_pretrain")
    monkeypatch.setattr("mamba_sdm.commands.jobs._tracking", lambda *args, **kwargs: _Null())
    out = tmp_path / "out"
    assert _exit_code([*PRETRAIN_FLAGS, "--out", str(out)]) == 0
    expected = PretrainInputs.model_validate(
        {
            "what": {"variant": "mamba-130m-sdm", "configs": str(CONFIGS), "smoke": True, "seed": 3, "max_steps": 2,
                     "precision": "fp32"},
            "how": {"out": str(out), "device": "cpu", "scan": "reference", "log_every": 1,
                    "report_to": ["tensorboard"], "quiet": True},
        }
    )  # fmt: skip
    assert calls[0]["options"] == expected.job_options()
    assert _exit_code(["job", "pretrain", "--config", str(_stage_file(tmp_path, expected))]) == 0
    assert calls[1]["options"] == calls[0]["options"]
    assert read_inputs(tmp_path / "stage.json", PretrainInputs) == expected


def test_challenge_and_finetune_read_their_upstreams_from_the_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    challenge = _captured(monkeypatch, "challenge", "run_challenge")
    finetune = _captured(monkeypatch, "finetune", "run_finetune")
    flags = ["--variant", "mamba-130m-challenge", "--dense", "d", "--sdm", "s", "--out", str(tmp_path / "c")]
    assert _exit_code(["job", "challenge", *flags]) == 0
    inputs = ChallengeInputs.model_validate(
        {"what": {"variant": "mamba-130m-challenge", "dense": "d", "sdm": "s"}, "how": {"out": str(tmp_path / "c")}}
    )
    assert _exit_code(["job", "challenge", "--config", str(_stage_file(tmp_path, inputs))]) == 0
    assert challenge[0] == challenge[1] == {"options": inputs.job_options(), "dense": Path("d"), "sdm": Path("s")}
    assert challenge[0]["options"].device == "cpu" and challenge[0]["options"].configs is None  # the build's defaults

    flags = ["--variant", "mamba-130m-dense", "--task", "mrpc", "--checkpoint", "p", "--out", str(tmp_path / "f")]
    assert _exit_code(["job", "finetune", *flags, "--quiet"]) == 0
    inputs_f = FinetuneInputs.model_validate(
        {"what": {"variant": "mamba-130m-dense", "task": "mrpc", "checkpoint": "p"},
         "how": {"out": str(tmp_path / "f"), "quiet": True}}
    )  # fmt: skip
    assert _exit_code(["job", "finetune", "--config", str(_stage_file(tmp_path, inputs_f))]) == 0
    assert finetune[0]["task"] == finetune[1]["task"] == "mrpc"
    assert finetune[0]["checkpoint"] == finetune[1]["checkpoint"] == Path("p")
    assert finetune[0]["options"] == finetune[1]["options"] == inputs_f.job_options()


class _Null:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ("{not json", "not JSON"),
        ('{"job": "finetune", "what": {"variant": "v"}, "how": {"out": "o"}}', "job"),
        ('{"job": "pretrain", "what": {"variant": "v", "sead": 1}, "how": {"out": "o"}}', "what.sead"),
        ('{"job": "pretrain", "what": {"variant": "v", "max_steps": -1}, "how": {"out": "o"}}', "max_steps"),
        ('{"job": "pretrain", "what": {"variant": "v"}}', "how"),
        ("[]", "stage file"),
    ],
)
def test_a_bad_stage_file_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, fragment: str
) -> None:
    path = tmp_path / "stage.json"
    path.write_text(content, encoding="utf-8")
    assert _exit_code(["job", "pretrain", "--config", str(path)]) == EXIT_USAGE
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("sdmspec: error: ") and "Traceback" not in err, err
    assert str(path) in lines[0] and fragment in lines[0]


def test_a_missing_stage_file_and_flags_beside_it_are_usage_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _exit_code(["job", "pretrain", "--config", str(tmp_path / "none.json")]) == EXIT_USAGE
    assert "cannot read the stage file" in capsys.readouterr().err
    stage = _stage_file(tmp_path, PretrainInputs.model_validate({"what": {"variant": "v"}, "how": {"out": "o"}}))
    assert _exit_code(["job", "pretrain", "--config", str(stage), "--seed", "1", "--smoke"]) == EXIT_USAGE
    err = capsys.readouterr().err.strip()
    assert err.startswith("sdmspec: error: --config") and "--seed" in err and "--smoke" in err
    assert _exit_code(["job", "pretrain", "--out", str(tmp_path / "o")]) == EXIT_USAGE
    assert "missing option --variant" in capsys.readouterr().err


def test_a_bad_stage_file_through_the_real_cli(tmp_path: Path) -> None:
    path = tmp_path / "stage.json"
    path.write_bytes(b"\x00" * (2 << 20))  # past the bound: refused before it is parsed
    done = run_cli("job", "finetune", "--config", str(path))
    assert_one_line_error(done, str(path), code=EXIT_USAGE)


def test_how_leaves_what_and_its_digest_unchanged() -> None:
    base = PretrainInputs.model_validate({"what": {"variant": "v", "smoke": True}, "how": {"out": "a"}})
    how = base.model_copy(
        update={"how": base.how.model_copy(update={"out": Path("b"), "device": "cuda", "scan": "kernels",
                                                   "activation_checkpointing": "on", "report_to": ("wandb",)})}
    )  # fmt: skip
    assert how.what == base.what and how.what_digest() == base.what_digest()
    assert base.what_digest() == PretrainInputs.model_validate(json.loads(base.to_json())).what_digest()
    for change in ({"seed": 1}, {"precision": "bf16"}, {"max_steps": 0}, {"init_from": Path("w")}):
        what = base.model_copy(update={"what": base.what.model_copy(update=change)})
        assert what.what != base.what and what.what_digest() != base.what_digest(), change


def test_what_a_stage_reads_is_declared_once() -> None:
    # The fingerprints' prefixes, exactly as the stage graph has always declared them (finished runs stay reusable).
    assert pretrain_reads() == ("training.pretrain.", "training.precision")
    assert finetune_reads("mrpc") == ("training.finetune.", "epochs.mrpc", "training.precision")
    # Every key a job records is under one of its stage's prefixes: the fingerprint covers what the job read.
    for keys, prefixes in (
        (pretrain_settings(), pretrain_reads()),
        (finetune_settings("mrpc"), finetune_reads("mrpc")),
    ):
        assert all(any(key.startswith(prefix) for prefix in prefixes) for key in keys), keys


# A result.json as the pre-training job wrote it before the model (keys, order, nulls and all).
OLD_RESULT = {
    "job": "pretrain", "variant": "mamba-130m-sdm", "method": "sdm", "smoke": True, "spec_digest": "sha256:ab",
    "settings": {"training.pretrain.seq_len": {"value": 32, "origin": "smoke"},
                 "training.precision": {"value": "auto", "origin": "spec"}},
    "data": {"data_dir": "/data", "tokenizer": None, "generated": True},
    "init": {"size": "130m", "init": "scratch", "hf_name": None, "origin": None, "path": None, "digest": None},
    "world_size": 1, "device": "cpu", "scan": "parallel", "scan_requested": "auto", "scan_reason": "no kernels",
    "activation_checkpointing": {"enabled": False, "requested": "auto", "reason": "cpu"},
    "precision": {"requested": "auto", "autocast": None, "tf32": False, "reason": "fp32 on the CPU"},
    "throughput": {"tokens_per_s": 10.5, "step_s": 0.1, "data_wait_share": 0.0},
    "seed": 0, "steps": 4, "schedule": {"total_steps": 4, "warmup_steps": 0, "accumulation": 2, "max_steps": None},
    "sparsity": {"sparsity": 0.5, "zeros": 10, "numel": 20, "target": 0.5, "layers": {"a": {"zeros": 10, "numel": 20}}},
    "metrics": {"val_loss": 1.5, "val_ppl": 4.48, "train_loss_first": 2.0, "train_loss_last": None, "epochs": 2},
    "resumed_from_step": None, "max_grad_norm": 1.0, "skipped_steps": 0,
    "outputs": {"model": "model", "metrics": "metrics.jsonl", "checkpoints": "checkpoints",
                "masks": "masks.safetensors"},
    "wall_s": 3.25,
}  # fmt: skip


def test_an_old_result_reads_and_writes_back_unchanged(tmp_path: Path) -> None:
    path = tmp_path / RESULT_FILE
    path.write_text(json.dumps({**OLD_RESULT, "from_a_newer_sdmspec": [1]}, indent=2), encoding="utf-8")
    result = read_result(path)
    assert (result.variant, result.steps, result.autocast) == ("mamba-130m-sdm", 4, None)
    assert result.setting("training.pretrain.seq_len") == 32 and result.metrics is not None
    assert result.metrics["epochs"] == 2 and isinstance(result.metrics["epochs"], int)
    assert result.number_metrics() == {"val_loss": 1.5, "val_ppl": 4.48, "train_loss_first": 2.0, "epochs": 2}
    write_result(tmp_path / "again.json", result)
    assert read_json(tmp_path / "again.json") == {**OLD_RESULT, "from_a_newer_sdmspec": [1]}
    # Before --precision: a bare bf16 flag; and a challenge record, without settings.
    assert Result.model_validate({"bf16": True}).autocast == "bf16"
    assert Result.model_validate({"job": "challenge", "verdict": "match"}).settings is None


def test_a_non_finite_metric_is_written_as_null(tmp_path: Path) -> None:
    write_result(tmp_path / RESULT_FILE, Result(job="pretrain", metrics={"train_loss_last": float("nan")}))
    assert read_json(tmp_path / RESULT_FILE) == {"job": "pretrain", "metrics": {"train_loss_last": None}}


@pytest.mark.parametrize("content", ["{", '{"steps": "many"}', '{"metrics": [1]}'])
def test_a_bad_result_is_one_line(tmp_path: Path, content: str) -> None:
    path = tmp_path / RESULT_FILE
    path.write_text(content, encoding="utf-8")
    with pytest.raises(SdmspecError) as raised:
        read_result(path)
    assert "\n" not in str(raised.value) and str(path) in str(raised.value)


@pytest.mark.slow
def test_a_job_from_its_config_computes_what_the_flags_do(tmp_path: Path, smoke_data: Path) -> None:
    flags = ["--variant", "mamba-130m-sdm", "--smoke", "--data-dir", str(smoke_data), "--max-steps", "1", "-q"]
    done = run_cli("job", "pretrain", *flags, "--out", str(tmp_path / "flags"))
    assert done.returncode == 0, done.stderr
    inputs = PretrainInputs.model_validate(
        {"what": {"variant": "mamba-130m-sdm", "smoke": True, "data_dir": str(smoke_data), "max_steps": 1},
         "how": {"out": str(tmp_path / "config"), "quiet": True}}
    )  # fmt: skip
    done = run_cli("job", "pretrain", "--config", str(_stage_file(tmp_path, inputs)))
    assert done.returncode == 0, done.stderr
    first, second = (read_result(tmp_path / name / RESULT_FILE) for name in ("flags", "config"))
    for field in ("settings", "data", "init", "steps", "schedule", "sparsity", "metrics", "spec_digest", "precision"):
        assert getattr(first, field) == getattr(second, field), field
