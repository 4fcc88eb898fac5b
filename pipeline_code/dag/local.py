"""The local back end: runs a PipelinePlan step by step in this process, laid out like SageMaker containers.

Run directory layout::

    <run>/manifest.json                      lineage record, rewritten after every step
    <run>/<published name>                   the definition's ``publish`` artefacts, after a successful run
    <run>/steps/<StepType>/                  the step's working directory (cwd while it runs)
    <run>/steps/<StepType>/error.log         full traceback, only if the step failed
    <run>/steps/<StepType>/opt/ml/...        StepContext root: processing/input|output/<name>, input/data/<name>,
                                             model/, output/data/<name>

Inputs are copied (never linked) from the producer's output folder, so a step cannot corrupt upstream artefacts.
A failed step marks its descendants skipped; steps on independent branches still run (their results are cached
for the next attempt), and the run as a whole fails.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import shutil
import time
import traceback
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline_code.common.context import StepContext
from pipeline_code.dag.assembler import PipelinePlan, PlannedStep
from pipeline_code.dag.cache import StepCache, copy_tree_contents
from pipeline_code.dag.hashing import FileRecord, code_digest, hash_tree, step_cache_key, step_code_folders
from pipeline_code.dag.manifest import (
    MANIFEST_NAME,
    InputRecord,
    RunManifest,
    RunStatus,
    StepRecord,
    StepStatus,
    utc_now,
)
from pipeline_code.dag.progress import NullProgress, ProgressReporter
from pipeline_code.dag.resolver import ExternalInputRef, StepOutputRef
from pipeline_code.dag.spec import ExecutionVariable

STEPS_DIR = "steps"
ERROR_LOG = "error.log"
_RESERVED_NAMES = frozenset({STEPS_DIR, MANIFEST_NAME})


class ExecutorError(Exception):
    """The run cannot start: a bad run directory, a missing external input, a clashing publish name."""


@dataclass(frozen=True)
class StepFailure:
    """The first step that failed: its name, exception type and message, and where the traceback is."""

    step: str
    exception_type: str
    message: str
    error_log: Path


@dataclass(frozen=True)
class RunResult:
    """What ``LocalExecutor.run`` returns; ``error`` is a one-paragraph message when the run failed."""

    run_dir: Path
    manifest: RunManifest
    manifest_path: Path
    failure: StepFailure | None
    error: str | None

    @property
    def succeeded(self) -> bool:
        return self.manifest.status == RunStatus.SUCCEEDED


@contextlib.contextmanager
def _working_directory(path: Path) -> Iterator[None]:
    previous = Path.cwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(previous)


def _load_run(entry_point: str) -> Callable[[StepContext], Any]:
    # Imported once per process: the CLI runs each pipeline in a fresh process, so edited code is always picked up
    # there, and the cache key (which hashes the code) stays correct either way.
    module = importlib.import_module(entry_point)
    run = getattr(module, "run", None)
    if not callable(run):
        raise TypeError(f"entry point module {entry_point!r} has no run(ctx) function")
    return run


def _normalise_metrics(step: str, value: Any) -> dict[str, Any]:
    """The metrics a step returned, with numpy scalars unwrapped; TypeError if they are not JSON."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise TypeError(f"{step}: run(ctx) returned {type(value).__name__}, expected a dict of metrics")
    metrics: dict[str, Any] = {}
    for key, item in value.items():
        unwrap = getattr(item, "item", None)
        if callable(unwrap) and not isinstance(item, (str, bytes)):
            with contextlib.suppress(TypeError, ValueError):
                item = unwrap()
        try:
            json.dumps(item)
        except (TypeError, ValueError):
            raise TypeError(f"{step}: metric {key!r} = {item!r} is not a JSON value") from None
        metrics[str(key)] = item
    return metrics


def step_root(run_dir: Path, step_type: str) -> Path:
    """``<run>/steps/<StepType>/opt/ml``: the root of a step's StepContext in a local run (where its outputs stay)."""
    return run_dir / STEPS_DIR / step_type / "opt" / "ml"


class LocalExecutor:
    """Runs a plan in-process. One executor per run: ``run()`` may be called once."""

    def __init__(
        self,
        plan: PipelinePlan,
        *,
        run_dir: Path,
        external_inputs: Mapping[str, Path] | None = None,
        cache: StepCache | None = None,
        progress: ProgressReporter | None = None,
    ) -> None:
        self.plan = plan
        self.run_dir = run_dir.resolve()
        self.external_inputs = {name: Path(path).resolve() for name, path in (external_inputs or {}).items()}
        self.cache = cache
        self.progress: ProgressReporter = progress or NullProgress()
        self.manifest_path = self.run_dir / MANIFEST_NAME
        # Values of the execution variables (see StepSpecification.execution_parameters), set when the run starts.
        self.execution: dict[ExecutionVariable, str] = {}

    # -- layout -------------------------------------------------------------------------------------------------

    def step_dir(self, step_type: str) -> Path:
        return self.run_dir / STEPS_DIR / step_type

    def context(self, step: PlannedStep) -> StepContext:
        """The StepContext of ``step``: root ``<run>/steps/<StepType>/opt/ml``, the step's merged parameters (with
        the run's execution variables, as SageMaker fills in its own)."""
        parameters = dict(step.parameters)
        for name, variable in step.spec.execution_parameters.items():
            if variable in self.execution:
                parameters[name] = self.execution[variable]
        return StepContext(
            job_type=step.job_type.value,
            root=step_root(self.run_dir, step.step_type),
            parameters=parameters,
            step_name=step.step_type,
        )

    def output_path(self, step_type: str, output: str) -> Path:
        return self.context(self.plan.step(step_type)).output_dir(output)

    # -- run ----------------------------------------------------------------------------------------------------

    def _check(self) -> None:
        needed = sorted(
            {b.name for step in self.plan.steps for b in step.inputs.values() if isinstance(b, ExternalInputRef)}
        )
        unknown = sorted(set(self.external_inputs) - set(self.plan.external_inputs))
        if unknown:
            raise ExecutorError(
                f"pipeline {self.plan.name!r} has no external input {unknown[0]!r} "
                f"(it has: {', '.join(self.plan.external_inputs) or 'none'})"
            )
        for name in needed:
            if name not in self.external_inputs:
                raise ExecutorError(f"external input {name!r} of pipeline {self.plan.name!r} needs a path")
            if not self.external_inputs[name].exists():
                raise ExecutorError(f"external input {name!r}: {self.external_inputs[name]} does not exist")
        clashes = sorted(set(self.plan.publish) & _RESERVED_NAMES)
        if clashes:
            raise ExecutorError(f"published artefact name {clashes[0]!r} is reserved in the run directory")
        if self.run_dir.exists() and (not self.run_dir.is_dir() or any(self.run_dir.iterdir())):
            raise ExecutorError(f"run directory {self.run_dir} already exists and is not empty")

    def run(self) -> RunResult:
        """Run every step in plan order; always writes the manifest, never raises for a failing step."""
        self._check()
        self.run_dir.mkdir(parents=True, exist_ok=True)
        clock = time.perf_counter()
        manifest = RunManifest(
            pipeline=self.plan.name,
            run_dir=str(self.run_dir),
            order=list(self.plan.order),
            cache_enabled=self.cache is not None,
            cache_dir=str(self.cache.root) if self.cache else None,
        )
        self.execution = {
            ExecutionVariable.START_DATE_TIME: manifest.started_at,
            ExecutionVariable.PIPELINE_EXECUTION_ID: self.run_dir.name,
        }
        manifest.external_inputs = {
            name: {"source": str(path), "files": [r.to_dict() for r in hash_tree(path)]}
            for name, path in sorted(self.external_inputs.items())
        }
        manifest.steps = [
            StepRecord(
                step=step.step_type,
                job_type=step.job_type.value,
                entry_point=step.entry_point,
                parameters=dict(step.parameters),
            )
            for step in self.plan.steps
        ]
        manifest.write(self.manifest_path)
        self.progress.run_started(self.plan.name, self.plan.order, self.run_dir)

        failure: StepFailure | None = None
        error: str | None = None
        blocked_by: dict[str, str] = {}  # step -> the failed step that prevents it from running
        try:
            for step, record in zip(self.plan.steps, manifest.steps, strict=True):
                blockers = sorted({blocked_by[up] for up in step.upstream if up in blocked_by})
                if blockers:
                    blocked_by[step.step_type] = blockers[0]
                    record.status = StepStatus.SKIPPED
                    record.reason = f"upstream step {' and '.join(blockers)} failed"
                else:
                    self.progress.step_started(step.step_type)
                    self._run_step(step, record)
                    if record.status == StepStatus.FAILED:
                        blocked_by[step.step_type] = step.step_type
                        if failure is None and record.error is not None:
                            failure = StepFailure(
                                step.step_type,
                                record.error["type"],
                                record.error["message"],
                                Path(record.error["log"]),
                            )
                self.progress.step_finished(record)
                manifest.write(self.manifest_path)
            # Publish only a complete run: half a set of artefacts at the top of the run dir would mislead.
            error = self._failure_message(failure, manifest) if failure is not None else self._publish(manifest)
        except BaseException as exc:  # KeyboardInterrupt included: record how far the run got, then re-raise
            error = f"run interrupted: {type(exc).__name__}: {exc}"
            raise
        finally:
            manifest.finished_at = utc_now()
            manifest.duration_s = round(time.perf_counter() - clock, 3)
            manifest.status = RunStatus.FAILED if error else RunStatus.SUCCEEDED
            manifest.error = error
            manifest.write(self.manifest_path)
            self.progress.run_finished(manifest)
        return RunResult(self.run_dir, manifest, self.manifest_path, failure, error)

    def _failure_message(self, failure: StepFailure, manifest: RunManifest) -> str:
        skipped = [r.step for r in manifest.steps if r.status == StepStatus.SKIPPED]
        finished = [r.step for r in manifest.steps if r.status.ok]
        return (
            f"Pipeline {self.plan.name!r} failed at step {failure.step}: {failure.exception_type}: "
            f"{failure.message.rstrip('.')}."
            f" Skipped because of the failure: {', '.join(skipped) or 'none'}."
            f" Finished steps keep their artefacts ({', '.join(finished) or 'none'})."
            f" Full traceback: {failure.error_log}. Manifest: {self.manifest_path}."
        )

    def _run_step(self, step: PlannedStep, record: StepRecord) -> None:
        """Materialise inputs, then restore from cache or run; records everything, raises only BaseException."""
        start = time.perf_counter()
        record.started_at = utc_now()
        ctx = self.context(step)
        output_names = [output.logical_name for output in step.spec.outputs]
        try:
            ctx.root.mkdir(parents=True, exist_ok=True)
            record.inputs = self._materialise_inputs(step, ctx)
            record.code_sha256 = code_digest(step_code_folders(step.entry_point))
            key = step_cache_key(
                step_type=step.step_type,
                job_type=step.job_type.value,
                entry_point=step.entry_point,
                code=record.code_sha256,
                inputs={name: rec.files for name, rec in record.inputs.items()},
                parameters=step.parameters,
                outputs=output_names,
            )
            record.cache_key = key
            entry = self.cache.lookup(key) if self.cache else None
            if entry is not None:
                for name in output_names:
                    copy_tree_contents(entry.output_dir(name), ctx.output_dir(name))
                record.metrics = dict(entry.metrics)
                record.outputs = dict(entry.outputs)
                record.status = StepStatus.CACHED
                record.reason = "restored from the step cache"
            else:
                run = _load_run(step.entry_point)
                with _working_directory(self.step_dir(step.step_type)):
                    returned = run(ctx)
                record.metrics = _normalise_metrics(step.step_type, returned)
                record.outputs = {name: hash_tree(ctx.output_dir(name)) for name in output_names}
                if self.cache is not None:
                    self.cache.store(
                        key,
                        step_type=step.step_type,
                        outputs={name: ctx.output_dir(name) for name in output_names},
                        records=record.outputs,
                        metrics=record.metrics,
                    )
                record.status = StepStatus.SUCCEEDED
        except (Exception, SystemExit) as exc:  # a step calling sys.exit() is a failed step, not a dead CLI
            log = self.step_dir(step.step_type) / ERROR_LOG
            log.parent.mkdir(parents=True, exist_ok=True)
            log.write_text(traceback.format_exc(), encoding="utf-8")
            record.status = StepStatus.FAILED
            record.error = {"type": type(exc).__name__, "message": str(exc) or repr(exc), "log": str(log)}
        finally:
            record.finished_at = utc_now()
            record.duration_s = round(time.perf_counter() - start, 3)

    def _materialise_inputs(self, step: PlannedStep, ctx: StepContext) -> dict[str, InputRecord]:
        records: dict[str, InputRecord] = {}
        for name, binding in step.inputs.items():
            if isinstance(binding, StepOutputRef):
                source = self.output_path(binding.step_type, binding.output)
            else:
                source = self.external_inputs[binding.name]
            destination = ctx.input_dir(name)
            copy_tree_contents(source, destination)
            records[name] = InputRecord(binding.to_dict(), hash_tree(destination))
        return records

    def _publish(self, manifest: RunManifest) -> str | None:
        """Copy the definition's published artefacts to the top of the run dir; an error message if one is missing."""
        for name, artifact in self.plan.publish.items():
            source_root = self.output_path(artifact.step_type, artifact.output)
            source = source_root / artifact.path if artifact.path else source_root
            if not source.exists():
                return (
                    f"Pipeline {self.plan.name!r} ran, but published artefact {name!r} is missing: step "
                    f"{artifact.step_type} output {artifact.output!r} has no {artifact.path or 'files'!r} "
                    f"(looked for {source}). Manifest: {self.manifest_path}."
                )
            destination = self.run_dir / name
            try:
                destination.parent.mkdir(parents=True, exist_ok=True)
                if source.is_dir():
                    shutil.copytree(source, destination, dirs_exist_ok=True)
                else:
                    shutil.copy2(source, destination)
            except OSError as exc:
                return f"Pipeline {self.plan.name!r} ran, but publishing {name!r} to {destination} failed: {exc}."
            files: tuple[FileRecord, ...] = hash_tree(destination)
            manifest.published[name] = {
                "step": artifact.step_type,
                "output": artifact.output,
                "path": artifact.path,
                "files": [r.to_dict() for r in files],
            }
        return None
