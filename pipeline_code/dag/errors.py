"""Errors raised by the DAG layer.

They share one base class, so a caller such as the CLI can catch every definition problem at once and show
its message without a traceback. Every message names the step and the input, parameter or edge at fault.
"""

from __future__ import annotations

from collections.abc import Sequence


class DagError(Exception):
    """Base of every error about a pipeline definition, its resolution or its plan."""


class SpecValidationError(DagError):
    """A step specification is malformed (bad name, duplicate input or output name, no entry point)."""


class DuplicateSpecError(DagError):
    """Two specifications claim the same step type in one registry."""


class UnknownStepError(DagError, LookupError):
    """A step type was looked up that the registry or plan does not hold."""


class CycleError(DagError):
    """The dependency graph has a cycle; ``cycle`` lists it with the first node repeated at the end."""

    def __init__(self, cycle: Sequence[str]) -> None:
        self.cycle: tuple[str, ...] = tuple(cycle)
        super().__init__(f"the pipeline has a dependency cycle: {' -> '.join(self.cycle)}")


class ResolutionError(DagError):
    """Required inputs could not be bound (missing or ambiguous); ``problems`` holds one line per input."""

    def __init__(self, pipeline: str, problems: Sequence[str]) -> None:
        self.pipeline = pipeline
        self.problems: tuple[str, ...] = tuple(problems)
        lines = "\n".join(f"  - {problem}" for problem in self.problems)
        super().__init__(f"cannot resolve the inputs of pipeline {pipeline!r}:\n{lines}")


class ParameterError(DagError):
    """A parameter override names a step or parameter the pipeline does not have, or a value that is not JSON."""
