"""``sdmspec eval MODEL_DIR``: load a model a stage wrote and measure it again on the validation data.

A fine-tuned model: its task's validation split(s); a pre-trained or baseline model: WikiText-103 validation
perplexity. When the stage's result.json is beside the model, its recorded metrics are shown next to the new ones.

Exit codes: 0 evaluated (and equal to what the stage recorded, when it recorded any), 1 the figures differ from the
stage's result.json, or the data or a setting is missing, 2 not a model folder (or a usage error).
"""

from __future__ import annotations

import enum
import json
from pathlib import Path

import typer

from mamba_sdm.commands import choices as pipeline_choices
from sdmspec.cli import choices
from sdmspec.errors import EXIT_FINDINGS, EXIT_OK


class OutputFormat(str, enum.Enum):
    text = "text"
    json = "json"


def eval_model(
    model_dir: Path = typer.Argument(..., help="A job's output folder or its model/ folder."),
    smoke: bool = typer.Option(False, "--smoke", help="The generated smoke data (implied when the stage was smoke)."),
    data_dir: Path | None = typer.Option(None, "--data-dir", help="Local data in the jobs' layout (`sdmspec job -h`)."),
    configs: Path = typer.Option(
        Path("configs"), "--configs", help="Settings when the model has no result.json beside it."
    ),
    spec_path: Path | None = typer.Option(None, "--spec", help="The spec file or folder (default: the nearest spec/)."),
    device: str = typer.Option("auto", "--device", metavar=choices.DEVICE, help="Where to evaluate."),
    scan: str = typer.Option("auto", "--scan", metavar=pipeline_choices.SCAN, help="Mamba's selective scan."),
    output_format: OutputFormat = typer.Option(OutputFormat.text, "--format", help="Report format."),
) -> None:
    """Evaluate a model a stage wrote; show the metrics next to those its result.json recorded."""
    from mamba_sdm.jobs.evaluate import EvalRequest, evaluate

    request = EvalRequest(
        path=model_dir, spec_path=spec_path, configs=configs, smoke=smoke, data_dir=data_dir, device=device, scan=scan
    )
    report = evaluate(request)
    if output_format is OutputFormat.json:
        typer.echo(json.dumps(report.to_json(), indent=2))
    else:
        data = "smoke data" if report.smoke else "validation data"
        task = f", task {report.task}" if report.task else ""
        typer.echo(f"{report.model}: {report.kind}{task}; {data}, {report.device}, scan {report.scan}")
        for name, value in report.metrics.items():
            recorded = report.recorded.get(name)
            same = recorded == value
            note = "" if recorded is None else ("  (as recorded)" if same else f"  (recorded {recorded!r})")
            typer.echo(f"  {name:<28} {value!r}{note}")
        for line in report.notes:
            typer.echo(f"note: {line}")
    if report.differences:
        typer.echo(f"sdmspec: error: differs from the stage's result.json: {'; '.join(report.differences)}", err=True)
    raise typer.Exit(EXIT_FINDINGS if report.differences else EXIT_OK)


def register(app: typer.Typer) -> None:
    app.command("eval")(eval_model)
