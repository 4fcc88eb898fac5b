"""The container contract a step runs against, on SageMaker and on this machine alike.

SageMaker mounts a processing job's inputs under ``/opt/ml/processing/input/<name>`` and collects outputs from
``/opt/ml/processing/output/<name>``; a training job reads channels from ``/opt/ml/input/data/<channel>``,
hyperparameters (all strings) from ``/opt/ml/input/config/hyperparameters.json``, and uploads ``/opt/ml/model``.
The local executor builds the same tree under a step's working directory, so a step's ``run(ctx)`` never knows
where it runs.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

CONTAINER_ROOT = Path("/opt/ml")
PROCESSING = "processing"
TRAINING = "training"
MODEL_OUTPUT = "model"  # the logical output name a training job's /opt/ml/model carries

T = TypeVar("T")


class StepError(RuntimeError):
    """A step cannot do its work; the message names the step, the input or parameter, and what is wrong."""


@dataclass(frozen=True)
class StepContext:
    """Where a step reads its inputs, writes its outputs, and which parameters it was given."""

    job_type: str
    root: Path
    parameters: Mapping[str, Any] = field(default_factory=dict)
    step_name: str = "step"

    def __post_init__(self) -> None:
        if self.job_type not in (PROCESSING, TRAINING):
            raise ValueError(f"job_type must be {PROCESSING!r} or {TRAINING!r}, not {self.job_type!r}")

    def input_dir(self, logical_name: str) -> Path:
        if self.job_type == PROCESSING:
            return self.root / "processing" / "input" / logical_name
        return self.root / "input" / "data" / logical_name

    def output_path(self, logical_name: str) -> Path:
        """The folder of an output (nothing is created: for reading a finished step's outputs)."""
        if self.job_type == PROCESSING:
            return self.root / "processing" / "output" / logical_name
        if logical_name == MODEL_OUTPUT:
            return self.root / "model"
        return self.root / "output" / "data" / logical_name

    def output_dir(self, logical_name: str) -> Path:
        """The folder an output is written to; created on first use."""
        path = self.output_path(logical_name)
        path.mkdir(parents=True, exist_ok=True)
        return path

    @property
    def model_dir(self) -> Path:
        return self.output_dir(MODEL_OUTPUT)

    def require_file(self, logical_name: str, filename: str) -> Path:
        """Path of ``filename`` inside input ``logical_name``; a clear StepError if it is not there."""
        path = self.input_dir(logical_name) / filename
        if not path.is_file():
            raise StepError(f"{self.step_name}: input {logical_name!r} has no file {filename!r} (looked in {path})")
        return path

    def param(self, name: str, cast: Callable[[Any], T], default: T) -> T:
        """A parameter cast to its type; SageMaker hands hyperparameters over as strings."""
        if name not in self.parameters:
            return default
        raw = self.parameters[name]
        try:
            if cast is bool and isinstance(raw, str):
                return cast(raw.strip().lower() in ("1", "true", "yes"))
            return cast(raw)
        except (TypeError, ValueError) as exc:
            raise StepError(f"{self.step_name}: parameter {name!r}={raw!r} is not a valid {cast.__name__}") from exc

    def write_failure(self, message: str) -> None:
        """SageMaker shows /opt/ml/output/failure as the job's failure reason; locally it lands in the step dir."""
        target = self.root / "output" / "failure"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(message[:1024], encoding="utf-8")

    @classmethod
    def from_container(
        cls, job_type: str, argv: Sequence[str] | None = None, *, step_name: str = "step", root: Path = CONTAINER_ROOT
    ) -> StepContext:
        """Build the context inside a SageMaker container.

        Processing jobs receive parameters as ``--parameters '<json>'``; training jobs read hyperparameters.json.
        """
        parser = argparse.ArgumentParser(prog=step_name)
        parser.add_argument("--parameters", default="{}", help="JSON object of step parameters")
        args, _ = parser.parse_known_args(argv)
        parameters: dict[str, Any] = json.loads(args.parameters)
        hyperparameters = root / "input" / "config" / "hyperparameters.json"
        if job_type == TRAINING and hyperparameters.is_file():
            parameters = {**json.loads(hyperparameters.read_text(encoding="utf-8")), **parameters}
        return cls(job_type=job_type, root=root, parameters=parameters, step_name=step_name)


def run_in_container(job_type: str, step_name: str, run: Callable[[StepContext], Mapping[str, Any]]) -> None:
    """The thin ``main`` of every step: build the container context, run, record a failure reason on error."""
    ctx = StepContext.from_container(job_type, step_name=step_name)
    try:
        run(ctx)
    except StepError as exc:
        ctx.write_failure(str(exc))
        raise SystemExit(str(exc)) from exc
