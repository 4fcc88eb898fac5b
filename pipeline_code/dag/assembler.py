"""Pipeline assembly: a definition plus parameter overrides becomes an immutable, back-end-neutral plan.

The plan holds no paths, no AWS objects and no run state: the local executor turns it into step directories, the
SageMaker renderer into a pipeline definition. Both walk the same ordered steps with the same bindings and merged
parameters, which is what makes "the same pipeline" true on both back ends.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Generic, TypeVar

from pipeline_code.dag.errors import ParameterError, SpecValidationError, UnknownStepError
from pipeline_code.dag.graph import PipelineDAG
from pipeline_code.dag.registry import SpecRegistry
from pipeline_code.dag.resolver import (
    DependencyResolver,
    ExternalInputRef,
    InputBinding,
    MatchExplanation,
    StepOutputRef,
)
from pipeline_code.dag.spec import JobType, PipelineDefinition, PublishedArtifact, QualityGate, StepSpecification

ParameterOverrides = Mapping[str, Mapping[str, Any]]
T = TypeVar("T")


@dataclass(frozen=True)
class PlannedStep:
    """One step of a plan: its specification, where each input comes from, and its final parameters."""

    spec: StepSpecification
    inputs: Mapping[str, InputBinding]
    parameters: Mapping[str, Any]
    upstream: tuple[str, ...]

    @property
    def step_type(self) -> str:
        return self.spec.step_type

    @property
    def job_type(self) -> JobType:
        return self.spec.job_type

    @property
    def entry_point(self) -> str:
        return self.spec.entry_point

    def to_dict(self) -> dict[str, Any]:
        return {
            "step": self.step_type,
            "job_type": self.job_type.value,
            "entry_point": self.entry_point,
            "inputs": {name: binding.to_dict() for name, binding in self.inputs.items()},
            "parameters": dict(self.parameters),
            "upstream": list(self.upstream),
        }


@dataclass(frozen=True)
class PipelinePlan:
    """An executable pipeline: steps in a deterministic topological order, each with resolved inputs."""

    name: str
    steps: tuple[PlannedStep, ...]
    external_inputs: tuple[str, ...]
    publish: Mapping[str, PublishedArtifact]
    batch_predict: str
    explanations: tuple[MatchExplanation, ...]
    quality_gate: QualityGate | None = None

    @property
    def order(self) -> tuple[str, ...]:
        return tuple(step.step_type for step in self.steps)

    def step(self, step_type: str) -> PlannedStep:
        for step in self.steps:
            if step.step_type == step_type:
                return step
        raise UnknownStepError(f"plan {self.name!r} has no step {step_type!r} (steps: {', '.join(self.order)})")

    def dag(self) -> PipelineDAG:
        return PipelineDAG(self.order, ((up, step.step_type) for step in self.steps for up in step.upstream))

    def to_dict(self) -> dict[str, Any]:
        return {
            "pipeline": self.name,
            "external_inputs": list(self.external_inputs),
            "steps": [step.to_dict() for step in self.steps],
        }

    def build(self, builder: Callable[[PlannedStep, Mapping[str, BuiltInput[T]]], T]) -> dict[str, T]:
        """Call ``builder`` on each step in order, handing it what was built for the steps that feed it.

        This is the hook a back end uses: e.g. the SageMaker renderer returns a step object and reads the
        upstream step's properties from ``inputs[name].upstream``.
        """
        built: dict[str, T] = {}
        for step in self.steps:
            inputs: dict[str, BuiltInput[T]] = {}
            for name, binding in step.inputs.items():
                upstream = built[binding.step_type] if isinstance(binding, StepOutputRef) else None
                inputs[name] = BuiltInput(binding=binding, upstream=upstream)
            built[step.step_type] = builder(step, MappingProxyType(inputs))
        return built


@dataclass(frozen=True)
class BuiltInput(Generic[T]):
    """An input handed to a step builder: the binding, and for a step output what the back end built upstream."""

    binding: InputBinding
    upstream: T | None

    @property
    def is_external(self) -> bool:
        return isinstance(self.binding, ExternalInputRef)


def _suggest(name: str, known: list[str]) -> str:
    close = difflib.get_close_matches(name, known, n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


def merge_parameters(
    registry: SpecRegistry, overrides: ParameterOverrides, *, pipeline: str
) -> dict[str, dict[str, Any]]:
    """Spec defaults updated by ``overrides``; unknown steps or parameters and non-JSON values are errors.

    Only parameters a spec declares (with a default) may be overridden: a typo in a config file must not be
    silently ignored while the step runs on its default.
    """
    merged = {spec.step_type: dict(spec.parameters) for spec in registry}
    for step_type, params in overrides.items():
        if step_type not in merged:
            known = sorted(merged)
            raise ParameterError(
                f"unknown step {step_type!r} in parameter overrides of pipeline {pipeline!r} "
                f"(steps: {', '.join(known)}){_suggest(step_type, known)}"
            )
        if not isinstance(params, Mapping):
            raise ParameterError(
                f"parameter overrides of step {step_type!r} must be a mapping of parameter -> value, "
                f"not {type(params).__name__}"
            )
        for name, value in params.items():
            if name not in merged[step_type]:
                known = sorted(merged[step_type])
                raise ParameterError(
                    f"step {step_type!r} has no parameter {name!r} (parameters: {', '.join(known) or 'none'})"
                    f"{_suggest(str(name), known)}"
                )
            try:
                json.dumps(value)
            except (TypeError, ValueError):
                raise ParameterError(f"step {step_type!r}: parameter {name!r}={value!r} is not a JSON value") from None
            merged[step_type][name] = value
    return merged


class PipelineAssembler:
    """Turns a PipelineDefinition into a PipelinePlan: register, resolve, order, merge parameters.

    Every check happens here, before anything runs: malformed or duplicate specs, missing or ambiguous inputs,
    cycles, unknown parameter overrides, published artefacts that name unknown steps or outputs.
    """

    def __init__(self, definition: PipelineDefinition, **resolver_options: Any) -> None:
        self.definition = definition
        self.registry = SpecRegistry.from_definition(definition)
        self.resolver = DependencyResolver(
            self.registry,
            external_inputs=definition.external_inputs,
            pipeline=definition.name,
            **resolver_options,
        )

    def assemble(self, overrides: ParameterOverrides | None = None) -> PipelinePlan:
        resolution = self.resolver.resolve()
        dag = PipelineDAG(self.registry.step_types, resolution.edges())
        order = dag.topological_order()
        parameters = merge_parameters(self.registry, overrides or {}, pipeline=self.definition.name)
        self._check_publish()
        self._check_quality_gate(parameters)
        steps = tuple(
            PlannedStep(
                spec=self.registry.get(step_type),
                inputs=resolution.bindings[step_type],
                parameters=MappingProxyType(parameters[step_type]),
                upstream=dag.predecessors(step_type),
            )
            for step_type in order
        )
        return PipelinePlan(
            name=self.definition.name,
            steps=steps,
            external_inputs=tuple(self.definition.external_inputs),
            publish=MappingProxyType(dict(self.definition.publish)),
            batch_predict=self.definition.batch_predict,
            # Explanations in run order (dependencies in declaration order), the order a reader follows the data.
            explanations=tuple(sorted(resolution.explanations, key=lambda exp: order.index(exp.step_type))),
            quality_gate=self.definition.quality_gate,
        )

    def _check_quality_gate(self, parameters: Mapping[str, Mapping[str, Any]]) -> None:
        gate = self.definition.quality_gate
        if gate is None:
            return
        try:
            self.registry.get(gate.report_step).output(gate.report_output)
            self.registry.get(gate.model_step).output(gate.model_output)
            if gate.baselines is not None:
                self.registry.get(gate.baselines.step).output(gate.baselines.output)
        except (KeyError, UnknownStepError) as exc:
            reason = exc.args[0] if exc.args else str(exc)
            raise SpecValidationError(f"quality gate of pipeline {self.definition.name!r}: {reason}") from None
        threshold = parameters[gate.report_step].get(gate.threshold_parameter)
        if isinstance(threshold, bool) or not isinstance(threshold, int | float):
            raise SpecValidationError(
                f"quality gate of pipeline {self.definition.name!r}: step {gate.report_step!r} has no numeric "
                f"parameter {gate.threshold_parameter!r} (got {threshold!r})"
            )

    def _check_publish(self) -> None:
        for name, artifact in self.definition.publish.items():
            try:
                self.registry.get(artifact.step_type).output(artifact.output)
            except (KeyError, UnknownStepError) as exc:
                reason = exc.args[0] if exc.args else str(exc)
                raise SpecValidationError(f"published artefact {name!r}: {reason}") from None


def assemble(definition: PipelineDefinition, overrides: ParameterOverrides | None = None) -> PipelinePlan:
    """Shortcut for ``PipelineAssembler(definition).assemble(overrides)``."""
    return PipelineAssembler(definition).assemble(overrides)
