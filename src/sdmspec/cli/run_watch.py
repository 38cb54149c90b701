"""What ``sdmspec run`` shows while stages train: on a terminal, a live table of each running stage (step/total, loss,
tokens/s, ETA, refreshed every second); elsewhere (a pipe, a SLURM log), one plain line per running stage every
``every_s`` seconds. Both read each stage's ``metrics.jsonl`` (:mod:`sdmspec.runner.progress`).
"""

from __future__ import annotations

import threading
from pathlib import Path
from types import TracebackType

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.markup import escape
from rich.table import Table

from sdmspec.runner.progress import describe, duration, read_progress


class RunWatcher:
    """Follows the stages the runner reports as started until they end; a context manager around the run."""

    def __init__(self, console: Console, *, every_s: float) -> None:
        self.console = console
        self.live_mode = console.is_terminal
        self.every_s = 1.0 if self.live_mode else every_s
        self._stages: dict[str, Path] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="sdmspec-run-watch", daemon=True)
        self._live: Live | None = None

    def started(self, stage: str, folder: Path) -> None:
        with self._lock:
            self._stages[stage] = folder

    def ended(self, stage: str) -> None:
        with self._lock:
            self._stages.pop(stage, None)

    def table(self) -> RenderableType:
        with self._lock:
            stages = dict(self._stages)
        if not stages:
            return Group()
        table = Table(title="running", title_justify="left", box=None, pad_edge=False)
        for column in ("stage", "step", "loss", "tokens/s", "ETA"):
            table.add_column(column, justify="left" if column == "stage" else "right")
        for name, folder in stages.items():
            progress = read_progress(folder)
            if progress is None:
                table.add_row(escape(name), "starting", "", "", "")
                continue
            step = f"{progress.step:,}" if progress.step is not None else "?"
            total = f"/{progress.total_steps:,}" if progress.total_steps else ""
            table.add_row(
                escape(name),
                step + total,
                f"{progress.loss:.4g}" if progress.loss is not None else "?",
                f"{progress.tokens_per_s:,.0f}" if progress.tokens_per_s is not None else "?",
                duration(progress.eta_s),
            )
        return table

    def plain_lines(self) -> list[str]:
        with self._lock:
            stages = dict(self._stages)
        return [f"   progress {name}: {describe(read_progress(folder))}" for name, folder in stages.items()]

    def _loop(self) -> None:
        while not self._stop.wait(self.every_s):
            if self._live is not None:
                self._live.update(self.table())
            else:
                for line in self.plain_lines():
                    self.console.print(escape(line), highlight=False, soft_wrap=True)

    def __enter__(self) -> RunWatcher:
        if self.live_mode:
            self._live = Live(Group(), console=self.console, refresh_per_second=2, transient=True)
            self._live.start()
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        if self._live is not None:
            self._live.stop()
