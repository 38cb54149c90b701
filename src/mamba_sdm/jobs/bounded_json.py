"""Reading a small untrusted JSON file (a stage.json, a job's result.json): bounded in size, one-line errors.

Light (no torch): the stage graph, the runner and the report read these files without the training stack.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from sdmspec.errors import LimitError, SdmspecError
from sdmspec.io import read_bounded

Model = TypeVar("Model", bound=BaseModel)


def read_model(path: Path, model: type[Model], limit: int, what: str) -> Model:
    """``path`` parsed as JSON and validated as ``model``; any failure is one :class:`SdmspecError` line (exit 2)
    naming the file and the first problem (pydantic's report is many lines, with a URL)."""
    try:
        data = read_bounded(path, limit, what)
    except OSError as err:
        raise SdmspecError(f"{path}: cannot read the {what} ({err.strerror or err})") from None
    except LimitError as err:
        raise SdmspecError(str(err)) from None
    try:
        raw = json.loads(data)
    except (ValueError, RecursionError) as err:
        first = "nested too deeply" if isinstance(err, RecursionError) else str(err).splitlines()[0]
        raise SdmspecError(f"{path}: not a {what} (not JSON: {first})") from None
    try:
        return model.model_validate(raw)
    except ValidationError as err:
        raise SdmspecError(f"{path}: not a valid {what}: {first_problem(err)}") from None


def first_problem(err: ValidationError) -> str:
    """The first of pydantic's errors, as ``where: what`` on one line (and how many more there are)."""
    problems = err.errors()
    first = problems[0]
    where = ".".join(str(part) for part in first["loc"]) or "the file"
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    return f"{where}: {first['msg']}{more}"
