"""Dependency resolution: which output of which step feeds each declared input.

Steps never name their producers. For every dependency the resolver scores every output of every other step and
binds the best one above a threshold. The score is a sum of explainable parts:

============  =====================================================================  ============
part          rule                                                                   points
============  =====================================================================  ============
type          same DependencyType / compatible per ``COMPATIBLE_OUTPUT_TYPES``       0.40 / 0.30
              (incompatible types are never connected, whatever the other parts say)
data type     ``DependencySpec.data_type == OutputSpec.data_type``                   0.10
source        producer listed in ``compatible_sources`` / list empty / not listed    0.20 / 0.10 / 0
semantic      Jaccard overlap of name tokens (dependency name + keywords versus      0.25 x J
              output name + aliases), snake/camel-case split, lightly stemmed
exact match   dependency name equals the output's name or one of its aliases         0.05
============  =====================================================================  ============

A candidate binds if its type is compatible and it scores at least ``DEFAULT_THRESHOLD`` (0.65): type agreement
alone (0.60) is not enough. A RAW_DATA dependency of a SOURCE step is not scored: it binds to the definition's
external input of the same name. Two best candidates with equal scores make a required input ambiguous (an error:
the resolver never guesses); an optional input that is missing or ambiguous stays unbound.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from pipeline_code.dag.errors import ResolutionError
from pipeline_code.dag.registry import SpecRegistry
from pipeline_code.dag.spec import (
    DependencySpec,
    DependencyType,
    NodeType,
    OutputSpec,
    PipelineDefinition,
    StepSpecification,
)

# Which output types may feed a dependency of a given type. Processed data and training data are the same kind of
# thing (tables produced by a processing job), so they may feed each other; models, reports, predictions and raw
# data only ever feed their own type.
COMPATIBLE_OUTPUT_TYPES: Mapping[DependencyType, frozenset[DependencyType]] = MappingProxyType(
    {
        DependencyType.RAW_DATA: frozenset({DependencyType.RAW_DATA}),
        DependencyType.PROCESSING_OUTPUT: frozenset({DependencyType.PROCESSING_OUTPUT, DependencyType.TRAINING_DATA}),
        DependencyType.TRAINING_DATA: frozenset({DependencyType.TRAINING_DATA, DependencyType.PROCESSING_OUTPUT}),
        DependencyType.MODEL_ARTIFACTS: frozenset({DependencyType.MODEL_ARTIFACTS}),
        DependencyType.EVALUATION_REPORT: frozenset({DependencyType.EVALUATION_REPORT}),
        DependencyType.PREDICTIONS: frozenset({DependencyType.PREDICTIONS}),
    }
)


def types_compatible(dependency_type: DependencyType, output_type: DependencyType) -> bool:
    """Whether an output of ``output_type`` may ever feed a dependency of ``dependency_type``."""
    return output_type in COMPATIBLE_OUTPUT_TYPES[dependency_type]


@dataclass(frozen=True)
class ScoringWeights:
    """Points each part of the score contributes; the defaults sum to 1.0 for a perfect match."""

    exact_type: float = 0.40
    compatible_type: float = 0.30
    data_type: float = 0.10
    listed_source: float = 0.20
    unconstrained_source: float = 0.10
    semantic: float = 0.25
    exact_name: float = 0.05


DEFAULT_WEIGHTS = ScoringWeights()
# Type agreement alone (same type + same data type + unconstrained source = 0.60) never binds: a match also needs a
# producer listed in ``compatible_sources`` or some name overlap, so an unrelated output that merely has the right
# type is not wired in silently (it shows up as the closest candidate in the error instead).
DEFAULT_THRESHOLD = 0.65

_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_NON_ALNUM = re.compile(r"[^A-Za-z0-9]+")


def _stem(token: str) -> str:
    # Just enough stemming that "training" meets "train" and "features" meets "feature"; anything smarter would
    # make matches harder to explain.
    if len(token) > 5 and token.endswith("ing"):
        return token[:-3]
    if len(token) > 3 and token.endswith("s") and not token.endswith(("ss", "us", "is")):
        return token[:-1]
    return token


def tokenize(*texts: str) -> frozenset[str]:
    """Lower-case, lightly stemmed tokens of snake_case, kebab-case, camelCase or spaced names."""
    result: set[str] = set()
    for text in texts:
        for part in _NON_ALNUM.split(_CAMEL_BOUNDARY.sub(" ", text)):
            if part:
                result.add(_stem(part.lower()))
    return frozenset(result)


def jaccard(left: frozenset[str], right: frozenset[str]) -> float:
    union = left | right
    return len(left & right) / len(union) if union else 0.0


@dataclass(frozen=True)
class StepOutputRef:
    """An input bound to output ``output`` of step ``step_type``."""

    step_type: str
    output: str

    def __str__(self) -> str:
        return f"{self.step_type}.{self.output}"

    def to_dict(self) -> dict[str, str]:
        return {"kind": "step_output", "step": self.step_type, "output": self.output}


@dataclass(frozen=True)
class ExternalInputRef:
    """An input bound to the pipeline's external input ``name`` (e.g. the raw data location)."""

    name: str

    def __str__(self) -> str:
        return f"external:{self.name}"

    def to_dict(self) -> dict[str, str]:
        return {"kind": "external", "name": self.name}


InputBinding = StepOutputRef | ExternalInputRef


@dataclass(frozen=True)
class CandidateScore:
    """How well one output of one step fits one dependency, part by part."""

    producer: str
    output: str
    output_type: DependencyType
    compatible: bool
    type_score: float
    data_type_score: float
    source_score: float
    semantic_score: float
    exact_match_bonus: float
    shared_tokens: tuple[str, ...]

    @property
    def total(self) -> float:
        """Sum of the parts, rounded so that float noise cannot break (or invent) a tie; 0 when incompatible."""
        if not self.compatible:
            return 0.0
        parts = self.type_score + self.data_type_score + self.source_score + self.semantic_score
        return round(parts + self.exact_match_bonus, 6)

    @property
    def ref(self) -> StepOutputRef:
        return StepOutputRef(self.producer, self.output)

    def describe(self) -> str:
        """``Split.train 0.87 = type 0.40 + data 0.10 + source 0.20 + semantic 0.12 [train] + exact 0.05``."""
        if not self.compatible:
            return f"{self.ref} is {self.output_type.value}, an incompatible type"
        shared = f" [{', '.join(self.shared_tokens)}]" if self.shared_tokens else ""
        return (
            f"{self.ref} {self.total:.2f} = type {self.type_score:.2f} + data {self.data_type_score:.2f}"
            f" + source {self.source_score:.2f} + semantic {self.semantic_score:.2f}{shared}"
            f" + exact {self.exact_match_bonus:.2f}"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "step": self.producer,
            "output": self.output,
            "output_type": self.output_type.value,
            "compatible": self.compatible,
            "total": self.total,
            "type": self.type_score,
            "data_type": self.data_type_score,
            "source": self.source_score,
            "semantic": self.semantic_score,
            "exact_match": self.exact_match_bonus,
            "shared_tokens": list(self.shared_tokens),
        }


class MatchStatus(StrEnum):
    """Outcome of resolving one dependency."""

    BOUND = "bound"  # bound to a step output
    EXTERNAL = "external"  # bound to an external pipeline input
    UNBOUND = "unbound"  # optional input left unbound
    MISSING = "missing"  # required input with no candidate above the threshold (an error)
    AMBIGUOUS = "ambiguous"  # required input with tied best candidates (an error)


@dataclass(frozen=True)
class MatchExplanation:
    """Why one dependency was bound the way it was: the choice, its score breakdown, and the runners-up."""

    step_type: str
    dependency: str
    dependency_type: DependencyType
    required: bool
    status: MatchStatus
    binding: InputBinding | None
    chosen: CandidateScore | None
    runner_ups: tuple[CandidateScore, ...]
    message: str

    @property
    def is_error(self) -> bool:
        return self.status in (MatchStatus.MISSING, MatchStatus.AMBIGUOUS)

    def to_dict(self) -> dict[str, Any]:
        return {
            "step": self.step_type,
            "dependency": self.dependency,
            "dependency_type": self.dependency_type.value,
            "required": self.required,
            "status": self.status.value,
            "binding": self.binding.to_dict() if self.binding else None,
            "chosen": self.chosen.to_dict() if self.chosen else None,
            "runner_ups": [candidate.to_dict() for candidate in self.runner_ups],
            "message": self.message,
        }


@dataclass(frozen=True)
class Resolution:
    """The outcome of a successful resolution: per step, dependency logical name -> binding."""

    bindings: Mapping[str, Mapping[str, InputBinding]]
    explanations: tuple[MatchExplanation, ...]

    def edges(self) -> tuple[tuple[str, str], ...]:
        """``(producer, consumer)`` pairs implied by the bindings, sorted."""
        pairs = {
            (binding.step_type, consumer)
            for consumer, inputs in self.bindings.items()
            for binding in inputs.values()
            if isinstance(binding, StepOutputRef)
        }
        return tuple(sorted(pairs))


def _candidate_order(candidate: CandidateScore) -> tuple[bool, float, str, str]:
    # Best first; names break ties so that output never depends on the order specs were declared in.
    return (not candidate.compatible, -candidate.total, candidate.producer, candidate.output)


class DependencyResolver:
    """Binds every dependency of every step to an upstream output or an external input, and explains each choice.

    ``explain()`` never raises, so a broken definition can still be inspected; ``resolve()`` raises
    ResolutionError listing every missing or ambiguous required input.
    """

    def __init__(
        self,
        specs: SpecRegistry | Iterable[StepSpecification],
        *,
        external_inputs: Iterable[str] = (),
        pipeline: str = "pipeline",
        threshold: float = DEFAULT_THRESHOLD,
        weights: ScoringWeights = DEFAULT_WEIGHTS,
        max_runner_ups: int = 3,
    ) -> None:
        self.registry = specs if isinstance(specs, SpecRegistry) else SpecRegistry(specs)
        self.external_inputs: tuple[str, ...] = tuple(sorted(set(external_inputs)))
        self.pipeline = pipeline
        self.threshold = threshold
        self.weights = weights
        self.max_runner_ups = max_runner_ups
        self._explanations: tuple[MatchExplanation, ...] | None = None

    @classmethod
    def for_definition(cls, definition: PipelineDefinition, **kwargs: Any) -> DependencyResolver:
        return cls(
            SpecRegistry.from_definition(definition),
            external_inputs=definition.external_inputs,
            pipeline=definition.name,
            **kwargs,
        )

    def score(
        self, consumer: StepSpecification, dependency: DependencySpec, producer: StepSpecification, output: OutputSpec
    ) -> CandidateScore:
        """Score ``producer.output`` as a feed for ``consumer.dependency``."""
        w = self.weights
        compatible = types_compatible(dependency.dependency_type, output.output_type)
        if output.output_type == dependency.dependency_type:
            type_score = w.exact_type
        elif compatible:
            type_score = w.compatible_type
        else:
            type_score = 0.0
        data_type_score = w.data_type if dependency.data_type == output.data_type else 0.0
        if not dependency.compatible_sources:
            source_score = w.unconstrained_source
        elif producer.step_type in dependency.compatible_sources:
            source_score = w.listed_source
        else:
            source_score = 0.0
        wanted = tokenize(dependency.logical_name, *dependency.semantic_keywords)
        offered = tokenize(output.logical_name, *output.aliases)
        semantic_score = round(w.semantic * jaccard(wanted, offered), 6)
        exact = dependency.logical_name.lower() in {name.lower() for name in (output.logical_name, *output.aliases)}
        return CandidateScore(
            producer=producer.step_type,
            output=output.logical_name,
            output_type=output.output_type,
            compatible=compatible,
            type_score=type_score,
            data_type_score=data_type_score,
            source_score=source_score,
            semantic_score=semantic_score,
            exact_match_bonus=w.exact_name if exact else 0.0,
            shared_tokens=tuple(sorted(wanted & offered)),
        )

    def candidates(self, step_type: str, dependency: str) -> tuple[CandidateScore, ...]:
        """Every output of every other step, scored for ``step_type.dependency``, best first."""
        consumer = self.registry.get(step_type)
        dep = consumer.dependency(dependency)
        scored = [
            self.score(consumer, dep, producer, output)
            for producer in self.registry
            if producer.step_type != step_type
            for output in producer.outputs
        ]
        return tuple(sorted(scored, key=_candidate_order))

    def explain(self) -> tuple[MatchExplanation, ...]:
        """One explanation per dependency, steps in name order, dependencies in declaration order."""
        if self._explanations is None:
            self._explanations = tuple(
                self._explain_one(spec, dep) for spec in self.registry for dep in spec.dependencies
            )
        return self._explanations

    def resolve(self) -> Resolution:
        """Bindings for every step; ResolutionError if any required input is missing or ambiguous."""
        explanations = self.explain()
        problems = [exp.message for exp in explanations if exp.is_error]
        if problems:
            raise ResolutionError(self.pipeline, problems)
        bindings: dict[str, dict[str, InputBinding]] = {spec.step_type: {} for spec in self.registry}
        for exp in explanations:
            if exp.binding is not None:
                bindings[exp.step_type][exp.dependency] = exp.binding
        frozen = {step: MappingProxyType(inputs) for step, inputs in bindings.items()}
        return Resolution(bindings=MappingProxyType(frozen), explanations=explanations)

    def _explain_one(self, spec: StepSpecification, dep: DependencySpec) -> MatchExplanation:
        label = f"{spec.step_type}: {'required' if dep.required else 'optional'} input {dep.logical_name!r}"

        def explanation(
            status: MatchStatus,
            message: str,
            binding: InputBinding | None = None,
            chosen: CandidateScore | None = None,
            runner_ups: tuple[CandidateScore, ...] = (),
        ) -> MatchExplanation:
            return MatchExplanation(
                step_type=spec.step_type,
                dependency=dep.logical_name,
                dependency_type=dep.dependency_type,
                required=dep.required,
                status=status,
                binding=binding,
                chosen=chosen,
                runner_ups=runner_ups,
                message=message,
            )

        if spec.node_type == NodeType.SOURCE and dep.dependency_type == DependencyType.RAW_DATA:
            if dep.logical_name in self.external_inputs:
                return explanation(
                    MatchStatus.EXTERNAL,
                    f"{label} bound to external input {dep.logical_name!r}",
                    binding=ExternalInputRef(dep.logical_name),
                )
            declared = ", ".join(self.external_inputs) or "none"
            message = (
                f"{label} (raw_data) of a SOURCE step needs an external input of the same name; "
                f"the definition declares: {declared}"
            )
            return explanation(MatchStatus.MISSING if dep.required else MatchStatus.UNBOUND, message)

        ranked = self.candidates(spec.step_type, dep.logical_name)
        compatible = [c for c in ranked if c.compatible]
        eligible = [c for c in compatible if c.total >= self.threshold]
        if not eligible:
            # What was close: the best compatible candidates, and outputs of the wrong type that share name tokens
            # (the usual cause is a dependency or output declared with the wrong DependencyType).
            misfits = sorted(
                (c for c in ranked if not c.compatible and c.shared_tokens),
                key=lambda c: (-c.semantic_score - c.exact_match_bonus, c.producer, c.output),
            )
            close = (*compatible[: self.max_runner_ups], *misfits[:2])
            closest = "; ".join(c.describe() for c in close) if close else "no step declares a compatible output"
            message = (
                f"{label} ({dep.dependency_type.value}) has no producer scoring >= {self.threshold:.2f}; "
                f"closest: {closest}"
            )
            return explanation(
                MatchStatus.MISSING if dep.required else MatchStatus.UNBOUND, message, runner_ups=tuple(close)
            )

        best = eligible[0]
        tied = [c for c in eligible if c.total == best.total]
        if len(tied) > 1:
            names = " and ".join(str(c.ref) for c in tied)
            message = (
                f"{label} is ambiguous: {names} tie at {best.total:.2f}; add semantic_keywords, aliases or "
                "compatible_sources to tell them apart"
            )
            if not dep.required:
                message += " (optional, left unbound)"
            others = tuple(c for c in compatible if c not in tied)[: self.max_runner_ups]
            return explanation(
                MatchStatus.AMBIGUOUS if dep.required else MatchStatus.UNBOUND,
                message,
                runner_ups=(*tied, *others),
            )
        runner_ups = tuple(c for c in compatible if c is not best)[: self.max_runner_ups]
        return explanation(
            MatchStatus.BOUND,
            f"{label} bound to {best.ref} (score {best.total:.2f})",
            binding=best.ref,
            chosen=best,
            runner_ups=runner_ups,
        )
