"""Commands that write a file (or a folder) given a path of the wrong kind: one line on stderr, exit 2, nothing
written (the exit-code table: "a path of the wrong kind")."""

from __future__ import annotations

from pathlib import Path

import pytest

from sdmspec.cli.app import main

PAPER = "paper: {title: t, source: s}\n"
CONFIG = "config:\n  lr: {type: float, exact: 0.1, source: 's3'}\n"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    (tmp_path / "spec").mkdir()
    (tmp_path / "spec" / "paper.yaml").write_text(PAPER)
    (tmp_path / "spec" / "config.yaml").write_text(CONFIG)
    (tmp_path / "configs").mkdir()
    (tmp_path / "configs" / "a.yaml").write_text("lr: 0.1\n")
    (tmp_path / "a-folder").mkdir()
    (tmp_path / "a-file").write_text("kept\n")
    return tmp_path


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (["lint", "--spec", "{r}/spec", "{r}/configs", "-o", "{r}/a-folder"], "--output {r}/a-folder: is a folder"),
        (["spec", "check", "{r}/spec", "-o", "{r}/a-folder"], "--output {r}/a-folder: is a folder"),
        (["spec", "schema", "--spec", "{r}/spec", "-o", "{r}/a-folder"], "--output {r}/a-folder: is a folder"),
        (["docs", "--spec", "{r}/spec", "-o", "{r}/a-folder"], "--output {r}/a-folder: is a folder"),
        (["spec", "init", "{r}/configs", "-o", "{r}/a-file"], "--output {r}/a-file: is a file, not a folder"),
        # A path below a file can be neither a file nor a folder.
        (["spec", "init", "{r}/configs", "-o", "{r}/a-file/spec"], "--output {r}/a-file/spec: {r}/a-file is a file"),
        (["lint", "--spec", "{r}/spec", "{r}/configs", "-o", "{r}/a-file/x.json"], "{r}/a-file is a file"),
        (["spec", "schema", "--spec", "{r}/spec", "-o", "{r}/a-file/s/x.json"], "{r}/a-file is a file, not a folder"),
        (["status", "{r}/a-file/run"], "{r}/a-file/run: {r}/a-file is a file, not a folder"),
        pytest.param(
            ["run", "--dry-run", "--out", "{r}/a-file/run"],
            "--out {r}/a-file/run: {r}/a-file is a file, not a folder",
            marks=pytest.mark.train,  # `run` checks for the training stack first
        ),
    ],
)
def test_an_output_of_the_wrong_kind_is_one_line_and_exit_2(
    repo: Path, args: list[str], line: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as caught:
        main([arg.format(r=repo) for arg in args])
    assert caught.value.code == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and line.format(r=repo) in err[0]
    assert (repo / "a-file").read_text() == "kept\n" and not list((repo / "a-folder").iterdir())


def test_spec_init_force_over_a_folder_named_config_yaml_is_one_line_and_exit_2(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (repo / "out" / "config.yaml").mkdir(parents=True)
    with pytest.raises(SystemExit) as caught:
        main(["spec", "init", str(repo / "configs"), "-o", str(repo / "out"), "--force"])
    assert caught.value.code == 2
    err = capsys.readouterr().err.splitlines()
    assert err == [f"sdmspec: error: {repo}/out/config.yaml: is a folder, not a file"]
    assert not (repo / "out" / "paper.yaml").exists()  # checked before either file is written


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux's /proc (a folder no one can create files in)")
def test_an_output_where_nothing_can_be_written_is_one_line_and_exit_2(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["lint", "--spec", str(repo / "spec"), str(repo / "configs"), "-o", "/proc/sdmspec-report.json"])
    assert caught.value.code == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith("sdmspec: error: cannot write /proc/sdmspec-report.json: ")
