"""The run manifest: what ran, with which inputs, parameters and code, and what it produced.

It is the local back end's lineage record (the SageMaker back end has lineage tracking for the same purpose):
every input and output file with its sha256 and size, every binding, every cache key. It is rewritten after each
step, so even an interrupted run leaves a truthful record of how far it got.
"""

from __future__ import annotations

import json
import os
import platform
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from pipeline_code.dag.hashing import FileRecord

MANIFEST_SCHEMA_VERSION = 1
MANIFEST_NAME = "manifest.json"


def utc_now() -> str:
    """Current UTC time, ISO 8601 with milliseconds (steps can be shorter than a second) and a ``Z`` suffix."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class StepStatus(StrEnum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    CACHED = "cached"  # outputs restored from the step cache, the step's code did not run
    FAILED = "failed"
    SKIPPED = "skipped"  # not run because a step it depends on failed

    @property
    def ok(self) -> bool:
        return self in (StepStatus.SUCCEEDED, StepStatus.CACHED)


class RunStatus(StrEnum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


def _files(records: tuple[FileRecord, ...] | list[FileRecord]) -> list[dict[str, Any]]:
    return [record.to_dict() for record in records]


@dataclass
class InputRecord:
    """One bound input of a step: where it came from, and the files the step saw."""

    binding: dict[str, str]
    files: tuple[FileRecord, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"binding": self.binding, "files": _files(self.files)}


@dataclass
class StepRecord:
    """What happened to one step; filled in by the executor as the step runs."""

    step: str
    job_type: str
    entry_point: str
    parameters: dict[str, Any]
    status: StepStatus = StepStatus.PENDING
    reason: str = ""
    started_at: str | None = None
    finished_at: str | None = None
    duration_s: float | None = None
    cache_key: str | None = None
    code_sha256: str | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    inputs: dict[str, InputRecord] = field(default_factory=dict)
    outputs: dict[str, tuple[FileRecord, ...]] = field(default_factory=dict)
    error: dict[str, str] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "step": self.step,
            "job_type": self.job_type,
            "entry_point": self.entry_point,
            "status": self.status.value,
            "reason": self.reason,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "duration_s": self.duration_s,
            "cache_key": self.cache_key,
            "code_sha256": self.code_sha256,
            "parameters": self.parameters,
            "metrics": self.metrics,
            "inputs": {name: record.to_dict() for name, record in self.inputs.items()},
            "outputs": {name: {"files": _files(records)} for name, records in self.outputs.items()},
            "error": self.error,
        }


@dataclass
class RunManifest:
    """The whole run; ``to_dict`` is the JSON schema documented in docs/pipeline-dag.md."""

    pipeline: str
    run_dir: str
    order: list[str]
    cache_enabled: bool
    cache_dir: str | None
    started_at: str = field(default_factory=utc_now)
    finished_at: str | None = None
    duration_s: float | None = None
    status: RunStatus = RunStatus.RUNNING
    error: str | None = None
    external_inputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    steps: list[StepRecord] = field(default_factory=list)
    published: dict[str, dict[str, Any]] = field(default_factory=dict)

    def step(self, step_type: str) -> StepRecord:
        for record in self.steps:
            if record.step == step_type:
                return record
        raise KeyError(step_type)

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": MANIFEST_SCHEMA_VERSION,
            "pipeline": self.pipeline,
            "run_dir": self.run_dir,
            "status": self.status.value,
            "error": self.error,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "duration_s": self.duration_s,
            "order": self.order,
            "cache": {"enabled": self.cache_enabled, "dir": self.cache_dir},
            "environment": {
                "python": platform.python_version(),
                "platform": platform.platform(),
                "executable": sys.executable,
            },
            "external_inputs": self.external_inputs,
            "steps": [record.to_dict() for record in self.steps],
            "published": self.published,
        }

    def write(self, path: Path) -> None:
        """Write atomically (temp file + rename), so a reader never sees half a manifest."""
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text(json.dumps(self.to_dict(), indent=2, sort_keys=False, default=str) + "\n", encoding="utf-8")
        os.replace(tmp, path)
