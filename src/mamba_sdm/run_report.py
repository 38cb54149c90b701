"""``OUT/report.md``: the run's results on one page, readable on its own (the pipeline's last stage).

Run as ``sdmspec job report --out OUT`` (:mod:`mamba_sdm.commands.jobs`). It reads only what the other stages wrote (the
manifest, each job's ``result.json``, the iso-sparsity verdicts, ``profile/profile.json``) and says plainly what is
missing, so it is written after a failed stage too. Images are linked relative to the report, so the folder can be
moved or shared.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from mamba_sdm.jobs.result import InitRecord, PrecisionRecord, Result, read_result
from sdmspec.errors import SdmspecError
from sdmspec.io import atomic_write_text

DASH = "—"


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _fmt(value: Any, digits: int = 4) -> str:
    if isinstance(value, bool) or value is None:
        return DASH if value is None else str(value)
    if isinstance(value, float):
        return f"{value:.{digits}g}"
    return str(value)


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows]
    return lines


def _table_or_line(noun: str, header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """A table, or one line when every row says the same thing past its first column (the row's name): 32 rows of
    ``auto / none (fp32) / False / auto: fp32 on cpu`` are "All 32 training stages: ..." (header words as labels)."""
    if len(rows) < 2 or any(list(row[1:]) != list(rows[0][1:]) for row in rows):
        return _table(header, rows)
    said = "; ".join(f"{label} {cell}" for label, cell in zip(header[1:], rows[0][1:], strict=True))
    return [f"{'Both' if len(rows) == 2 else f'All {len(rows)}'} {noun}: {said}."]


def _link(out: Path, path: Path) -> str:
    """A link relative to the report, or a dash where the file is not there (yet)."""
    return f"[{path.relative_to(out).as_posix()}]({path.relative_to(out).as_posix()})" if path.is_file() else DASH


def _stages(manifest: Mapping[str, Any], kind: str) -> list[Mapping[str, Any]]:
    return [record for record in manifest.get("stages", {}).values() if record.get("kind") == kind]


def _result(record: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """A stage's marker as JSON (a verify stage's verdict), None when missing or unreadable."""
    data = _read_json(Path(record["marker"]))
    return data if isinstance(data, Mapping) else None


def _job_result(record: Mapping[str, Any]) -> Result | None:
    """A job stage's result.json, None when missing or unreadable (the stage's status says why)."""
    try:
        return read_result(Path(record["marker"]))
    except SdmspecError:
        return None


Record = TypeVar("Record", InitRecord, PrecisionRecord)


def _recorded(own: Record | None, found: Any, model: type[Record]) -> Record | None:
    """The job's own record, else the runner's (the manifest's copy, which may be absent or of an older form)."""
    if own is not None or not isinstance(found, Mapping):
        return own
    try:
        return model.model_validate(found)
    except ValueError:
        return None


def _task_metrics(result: Result | None) -> str:
    """The evaluation metrics of a fine-tuning result: accuracy (matched/mismatched for MNLI), F1 for MRPC."""
    if result is None:
        return DASH
    metrics = result.number_metrics()
    shown = []
    for key, value in metrics.items():
        if not ("acc" in key or "f1" in key):
            continue
        if key == "val_accuracy" and "val_accuracy_matched" in metrics:
            continue  # MNLI's headline accuracy is the matched one, shown as such
        label = key.removeprefix("val_").replace("accuracy", "acc").replace("_mismatched", "-mm")
        shown.append(f"{label.replace('_matched', '-m')} {_fmt(value, 3)}")
    return ", ".join(shown) or DASH


def _header(manifest: Mapping[str, Any]) -> list[str]:
    lines = ["# sdmspec run report", ""]
    if manifest.get("smoke"):
        lines += [
            "> **Smoke run**: toy dimensions, a few steps, generated data. These numbers check that the pipeline",
            "> works end to end; they say nothing about the paper's results.",
            "",
        ]
    dirty = manifest.get("git_dirty")
    lines += [
        f"- Spec hash: `{manifest.get('spec_hash', DASH)}` ({manifest.get('spec_path', DASH)})",
        f"- Git commit: `{manifest.get('git_commit') or 'not a git checkout'}`"
        + (" (working tree has uncommitted changes)" if dirty else ""),
        f"- Configs: {manifest.get('configs', DASH)} ({len(manifest.get('config_hashes', {}))} files, sha256 in "
        "manifest.json)",
        f"- Launcher: {manifest.get('launcher', DASH)} {json.dumps(manifest.get('launcher_options', {}))}",
        f"- Updated: {manifest.get('updated_at', DASH)}",
    ]
    deviations = manifest.get("deviations", [])
    if deviations:
        lines += ["", "**Deviations from the spec** (accepted for this run):", ""]
        lines += [f"- {d['kind']} `{d['name']}`: expected {d['expected']}, found {d['found']}" for d in deviations]
    else:
        lines += ["", "No deviations from the spec's environment."]
    return lines


def _status_section(manifest: Mapping[str, Any]) -> list[str]:
    stages = [s for s in manifest.get("stages", {}).values() if s.get("kind") != "report"]
    counts: dict[str, int] = {}
    for record in stages:
        counts[record["status"]] = counts.get(record["status"], 0) + 1
    summary = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
    lines = ["", "## Stages", "", f"{len(stages)} pipeline stages (besides this report): {summary}."]
    unfinished = [s for s in stages if s["status"] != "done"]
    if unfinished:
        lines += [""]
        rows = [[s["name"], s["status"], s.get("message") or DASH, s.get("log") or DASH] for s in unfinished]
        lines += _table_or_line("unfinished stages", ["stage", "status", "why", "log"], rows)
    return lines


def _init_section(manifest: Mapping[str, Any]) -> list[str]:
    """Where each pre-training started: the job's own record (result.json), else what the runner found."""
    rows = []
    for record in _stages(manifest, "pretrain"):
        result = _job_result(record)
        init = _recorded(result.init if result is not None else None, record.get("init"), InitRecord)
        if init is None:
            continue
        pretrained = init.init == "pretrained"
        digest = init.digest
        rows.append([
            record["name"].split("/", 1)[-1],
            "pretrained" if pretrained else f"{init.init} (random weights)",
            f"`{init.hf_name}`" if pretrained else DASH,
            str(init.origin or DASH) if pretrained else DASH,
            f"`{digest[:19]}…`" if digest is not None else DASH,
        ])  # fmt: skip
    if not rows:
        return []
    lines = ["", "## Phase A start", "", "Where each pre-training started (`training.pretrain.init`; the baselines are"]
    lines += ["pruned from the trained dense model).", ""]
    header = ["variant", "initialization", "checkpoint", "found in", "weights sha256"]
    return lines + _table_or_line("pre-trainings", header, rows)


def _precision_section(manifest: Mapping[str, Any]) -> list[str]:
    """What each training stage computed in: its job's own record (result.json ``precision``)."""
    rows = []
    for kind in ("pretrain", "finetune"):
        for record in _stages(manifest, kind):
            result = _job_result(record)
            own = result.precision if result is not None else None
            precision = _recorded(own, record.get("precision"), PrecisionRecord)
            if precision is None:
                continue
            rows.append([
                record["name"],
                str(precision.requested or DASH),
                str(precision.autocast or "none (fp32)"),
                _fmt(precision.tf32),
                str(precision.reason or DASH),
            ])  # fmt: skip
    if not rows:
        return []
    lines = ["", "## Precision", "", "What each training stage ran in, as its job recorded it (`precision` in its"]
    lines += ["`result.json`).", ""]
    return lines + _table_or_line("training stages", ["stage", "requested", "autocast", "TF32 matmuls", "why"], rows)


def _profile_rows(out: Path) -> list[Mapping[str, Any]]:
    data = _read_json(out / "profile" / "profile.json")
    if not isinstance(data, Mapping):
        return []
    return [row for row in data.get("results", []) if isinstance(row, Mapping)]


def _headline_profile(rows: list[Mapping[str, Any]]) -> dict[str, Mapping[str, Any]]:
    """Per variant, the row at the smallest batch and the longest sequence: the one the summary table quotes."""
    chosen: dict[str, Mapping[str, Any]] = {}
    for row in rows:
        best = chosen.get(row["variant"])
        key = (-row.get("batch_size", 0), row.get("seq_len", 0))
        if best is None or key > (-best.get("batch_size", 0), best.get("seq_len", 0)):
            chosen[row["variant"]] = row
    return chosen


def _variant_sparsity(manifest: Mapping[str, Any], variant: str) -> str:
    for kind in ("pretrain", "challenge"):
        for record in _stages(manifest, kind):
            if record["name"] == f"{kind}/{variant}":
                result = _job_result(record)
                if result is not None and result.sparsity is not None:
                    return _fmt(result.sparsity.get("sparsity"))
    return DASH


def _results_section(manifest: Mapping[str, Any], out: Path) -> list[str]:
    finetune = {record["name"]: record for record in _stages(manifest, "finetune")}
    variants = list(dict.fromkeys(name.split("/")[1] for name in finetune))
    tasks = list(dict.fromkeys(name.split("/")[2] for name in finetune))
    headline = _headline_profile(_profile_rows(out))
    shape = next(iter(headline.values()), None)
    where = f" (batch {shape['batch_size']}, seq {shape['seq_len']})" if shape else ""
    header = ["variant", "sparsity", *tasks, f"analytic GFLOPs{where}", "effective GFLOPs", "latency ms (median)"]
    rows = []
    for variant in variants:
        row = [variant, _variant_sparsity(manifest, variant)]
        records = [finetune.get(f"finetune/{variant}/{task}") for task in tasks]
        row += [_task_metrics(_job_result(record)) if record else DASH for record in records]
        profile = headline.get(variant)
        flops = profile.get("flops", {}) if profile else {}
        latency = profile.get("latency_ms", {}) if profile else {}
        row += [
            _fmt(flops.get("analytic", 0) / 1e9) if flops else DASH,
            _fmt(flops.get("effective", 0) / 1e9) if flops else DASH,
            _fmt(latency.get("median")) if latency else DASH,
        ]
        rows.append(row)
    return [
        "",
        "## Results",
        "",
        "Fine-tuning metrics on each GLUE task's validation split(s).",
        "",
        *_table(header, rows),
    ]


def _verify_section(manifest: Mapping[str, Any], out: Path) -> list[str]:
    records = _stages(manifest, "verify")
    if not records:
        return []
    rows, images = [], []
    for record in records:
        verdict = _result(record)
        sides = verdict.get("checkpoints", []) if verdict else []
        zeros = " / ".join(f"{side['zeros']:,} of {side['prunable_numel']:,}" for side in sides) or DASH
        sparsity = " / ".join(_fmt(side["sparsity"], 6) for side in sides) or DASH
        file = Path(record["marker"])
        link = f"[{file.name}]({file.relative_to(out).as_posix()})" if file.is_file() else DASH
        rows.append([record["name"].split("/", 1)[1], verdict["verdict"] if verdict else DASH, zeros, sparsity, link])
        plot = file.parent / "sparsity.png"
        if plot.is_file():
            images.append(f"![{record['name']}]({plot.relative_to(out).as_posix()})")
    lines = ["", "## Iso-sparsity", "", "SDM model / baseline, zeros over the spec's prunable set.", ""]
    return lines + _table(["baseline", "verdict", "zeros", "sparsity", "verdict file"], rows) + ["", *images]


def _profile_section(out: Path) -> list[str]:
    rows = _profile_rows(out)
    if not rows:
        return ["", "## Profile", "", "No profile yet (the profile stage has not finished)."]
    table = []
    for row in rows:
        flops, latency = row.get("flops", {}), row.get("latency_ms", {})
        table.append(
            [
                str(row.get("variant")), str(row.get("batch_size")), str(row.get("seq_len")),
                _fmt(flops.get("fvcore", 0) / 1e9), _fmt(flops.get("torch", 0) / 1e9),
                _fmt(flops.get("analytic", 0) / 1e9), _fmt(flops.get("effective", 0) / 1e9),
                f"{_fmt(latency.get('median'))} ± {_fmt(latency.get('iqr'), 2)}",
                str(row.get("device")) + ("" if row.get("on_spec_hardware") else " (off spec hardware)"),
            ]
        )  # fmt: skip
    header = ["variant", "batch", "seq", "fvcore GMACs", "torch GFLOPs", "analytic GFLOPs", "effective GFLOPs"]
    header += ["latency ms (median ± IQR)", "device"]
    lines = ["", "## Profile", "", "fvcore counts multiply-adds (MACs); the other columns count FLOPs (2 per MAC)."]
    devices = {row[-1] for row in table}
    if len(devices) == 1:  # one device for every row (the usual case): said once, not in a column
        lines += [f"Every row ran on {devices.pop()}."]
        header, table = header[:-1], [row[:-1] for row in table]
    files = [_link(out, out / "profile" / name) for name in ("profile.json", "profile.csv")]
    lines += [f"Every count, scan and shape: {' and '.join(f for f in files if f != DASH) or DASH}.", ""]
    lines += _table(header, table)
    plots = sorted((out / "profile").glob("*.png"))
    lines += [""] + [f"![{plot.stem}]({plot.relative_to(out).as_posix()})" for plot in plots]
    return lines


def render_report(out: Path) -> str:
    """The report's Markdown for the run in ``out``."""
    manifest = _read_json(out / "manifest.json")
    if not isinstance(manifest, Mapping):
        manifest = {}
    lines = _header(manifest) + _status_section(manifest) + _init_section(manifest) + _results_section(manifest, out)
    lines += _precision_section(manifest) + _verify_section(manifest, out) + _profile_section(out)
    lines += ["", f"Every stage's command, timing, fingerprint and log: {_link(out, out / 'manifest.json')}.", ""]
    return "\n".join(lines)


def write_report(out: Path) -> Path:
    path = out / "report.md"
    atomic_write_text(path, render_report(out))
    return path
