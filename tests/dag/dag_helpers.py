"""Small builders shared by the DAG tests (a plain module: conftest files are not meant to be imported)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pipeline_code.dag.spec import (
    DependencySpec,
    DependencyType,
    JobType,
    NodeType,
    OutputSpec,
    StepSpecification,
    processing_output_path,
)


def make_spec(
    step_type: str,
    dependencies: Iterable[DependencySpec] = (),
    outputs: Iterable[OutputSpec] = (),
    *,
    node_type: NodeType = NodeType.INTERNAL,
    job_type: JobType = JobType.PROCESSING,
    parameters: dict[str, Any] | None = None,
) -> StepSpecification:
    """A specification with a dummy entry point, for tests that never run it."""
    return StepSpecification(
        step_type=step_type,
        node_type=node_type,
        job_type=job_type,
        entry_point=f"tests_dummy.{step_type.lower()}",
        dependencies=tuple(dependencies),
        outputs=tuple(outputs),
        parameters=parameters or {},
    )


def dep(name: str, dependency_type: DependencyType, **kwargs: Any) -> DependencySpec:
    return DependencySpec(name, dependency_type, **kwargs)


def out(name: str, output_type: DependencyType, *aliases: str) -> OutputSpec:
    return OutputSpec(name, output_type, processing_output_path(name), aliases=aliases)
