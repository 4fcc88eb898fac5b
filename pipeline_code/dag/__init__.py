"""Spec-driven pipeline DAG: specifications, resolver, assembler and the back ends that run a plan.

The back-end-neutral layer is re-exported here. The local executor (``pipeline_code.dag.local``) and the CLI
helpers are imported from their modules, so a renderer importing this package does not pull in ``rich``.
"""

from pipeline_code.dag.assembler import (
    BuiltInput,
    PipelineAssembler,
    PipelinePlan,
    PlannedStep,
    assemble,
    merge_parameters,
)
from pipeline_code.dag.errors import (
    CycleError,
    DagError,
    DuplicateSpecError,
    ParameterError,
    ResolutionError,
    SpecValidationError,
    UnknownStepError,
)
from pipeline_code.dag.graph import PipelineDAG
from pipeline_code.dag.registry import SpecRegistry, validate_spec
from pipeline_code.dag.resolver import (
    COMPATIBLE_OUTPUT_TYPES,
    CandidateScore,
    DependencyResolver,
    ExternalInputRef,
    InputBinding,
    MatchExplanation,
    MatchStatus,
    Resolution,
    ScoringWeights,
    StepOutputRef,
    types_compatible,
)
from pipeline_code.dag.spec import (
    DependencySpec,
    DependencyType,
    DriftBaselines,
    ExecutionVariable,
    JobType,
    NodeType,
    OutputSpec,
    PipelineDefinition,
    PublishedArtifact,
    QualityGate,
    StepSpecification,
)

__all__ = [
    "COMPATIBLE_OUTPUT_TYPES",
    "BuiltInput",
    "CandidateScore",
    "CycleError",
    "DagError",
    "DependencyResolver",
    "DependencySpec",
    "DependencyType",
    "DriftBaselines",
    "DuplicateSpecError",
    "ExecutionVariable",
    "ExternalInputRef",
    "InputBinding",
    "JobType",
    "MatchExplanation",
    "MatchStatus",
    "NodeType",
    "OutputSpec",
    "ParameterError",
    "PipelineAssembler",
    "PipelineDAG",
    "PipelineDefinition",
    "PipelinePlan",
    "PlannedStep",
    "PublishedArtifact",
    "QualityGate",
    "Resolution",
    "ResolutionError",
    "ScoringWeights",
    "SpecRegistry",
    "SpecValidationError",
    "StepOutputRef",
    "StepSpecification",
    "UnknownStepError",
    "assemble",
    "merge_parameters",
    "types_compatible",
    "validate_spec",
]
