"""Progress display for the local executor: a live rich table on a terminal, plain lines anywhere else.

The executor only talks to the ``ProgressReporter`` protocol, so library callers and tests can pass
``NullProgress`` and CI logs get one readable line per event instead of terminal control codes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from rich.console import Console
from rich.markup import escape
from rich.progress import Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn

from pipeline_code.dag.manifest import RunManifest, StepRecord, StepStatus

_STATUS_STYLE = {
    StepStatus.SUCCEEDED: "green",
    StepStatus.CACHED: "cyan",
    StepStatus.FAILED: "bold red",
    StepStatus.SKIPPED: "yellow",
    StepStatus.PENDING: "dim",
}


class ProgressReporter(Protocol):
    """Events the executor reports, in this order: run_started, (step_started, step_finished)*, run_finished."""

    def run_started(self, pipeline: str, steps: tuple[str, ...], run_dir: Path) -> None: ...

    def step_started(self, step: str) -> None: ...

    def step_finished(self, record: StepRecord) -> None: ...

    def run_finished(self, manifest: RunManifest) -> None: ...


class NullProgress:
    """Reports nothing."""

    def run_started(self, pipeline: str, steps: tuple[str, ...], run_dir: Path) -> None:
        pass

    def step_started(self, step: str) -> None:
        pass

    def step_finished(self, record: StepRecord) -> None:
        pass

    def run_finished(self, manifest: RunManifest) -> None:
        pass


def _outcome(record: StepRecord, *, with_duration: bool = True) -> str:
    duration = f" in {record.duration_s:.2f}s" if with_duration and record.duration_s is not None else ""
    reason = f" ({record.reason})" if record.reason else ""
    return f"{record.status.value}{duration}{reason}"


class ConsoleProgress:
    """One live line per step (spinner, status, elapsed time) on a terminal; plain lines otherwise."""

    def __init__(self, console: Console | None = None) -> None:
        self.console = console or Console(stderr=True)
        self.live = self.console.is_terminal
        self._progress: Progress | None = None
        self._tasks: dict[str, TaskID] = {}
        self._index: dict[str, int] = {}

    def run_started(self, pipeline: str, steps: tuple[str, ...], run_dir: Path) -> None:
        self._index = {step: i for i, step in enumerate(steps, start=1)}
        self.console.print(
            f"Running pipeline {pipeline!r} ({len(steps)} steps) in {run_dir}", markup=False, highlight=False
        )
        if not self.live:
            return
        self._progress = Progress(
            SpinnerColumn(finished_text="•"),
            TextColumn("{task.description}"),
            TextColumn("{task.fields[status]}"),
            TimeElapsedColumn(),
            console=self.console,
        )
        for step in steps:
            self._tasks[step] = self._progress.add_task(step, total=1, start=False, status="[dim]waiting[/]")
        self._progress.start()

    def step_started(self, step: str) -> None:
        if self._progress is not None:
            self._progress.start_task(self._tasks[step])
            self._progress.update(self._tasks[step], status="running")
        else:
            self.console.print(f"[{self._index[step]}/{len(self._index)}] {step}: running", markup=False)

    def step_finished(self, record: StepRecord) -> None:
        if self._progress is not None:
            style = _STATUS_STYLE[record.status]
            task = self._tasks[record.step]
            self._progress.update(
                task, completed=1, status=f"[{style}]{escape(_outcome(record, with_duration=False))}[/]"
            )
            if not self._progress.tasks[task].started:
                # Skipped steps never started; mark them done so the spinner stops.
                self._progress.start_task(task)
                self._progress.update(task, completed=1)
        else:
            index = self._index.get(record.step, 0)
            self.console.print(f"[{index}/{len(self._index)}] {record.step}: {_outcome(record)}", markup=False)

    def run_finished(self, manifest: RunManifest) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
