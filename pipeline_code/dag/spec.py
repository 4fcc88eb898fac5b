"""Step specifications: what a pipeline step needs and what it produces.

A step never names the step that feeds it. It declares typed dependencies and outputs; the resolver
(``pipeline_code.dag.resolver``) connects them. The same specifications drive the local executor and the
SageMaker renderer, so they carry no paths and no AWS objects, only names, types and keywords.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class NodeType(StrEnum):
    """Position of a step in a DAG.

    SOURCE steps take only external inputs (pipeline inputs such as the raw data location), SINK steps
    produce nothing another step consumes, INTERNAL steps do both.
    """

    SOURCE = "source"
    INTERNAL = "internal"
    SINK = "sink"


class JobType(StrEnum):
    """The SageMaker job a step becomes; it fixes the container paths of its inputs and outputs."""

    PROCESSING = "processing"
    TRAINING = "training"


class DependencyType(StrEnum):
    """What kind of artefact flows along an edge. The resolver never connects different types."""

    RAW_DATA = "raw_data"
    PROCESSING_OUTPUT = "processing_output"
    TRAINING_DATA = "training_data"
    MODEL_ARTIFACTS = "model_artifacts"
    EVALUATION_REPORT = "evaluation_report"
    PREDICTIONS = "predictions"


@dataclass(frozen=True)
class DependencySpec:
    """One input a step needs.

    ``compatible_sources`` lists step types that may feed it (empty: any); ``semantic_keywords`` help the
    resolver pick between several compatible outputs. A dependency of type RAW_DATA on a SOURCE step is
    satisfied by an external pipeline input with the same logical name.
    """

    logical_name: str
    dependency_type: DependencyType
    required: bool = True
    compatible_sources: tuple[str, ...] = ()
    semantic_keywords: tuple[str, ...] = ()
    data_type: str = "S3Uri"
    description: str = ""


@dataclass(frozen=True)
class OutputSpec:
    """One artefact a step produces.

    ``property_path`` is the SageMaker step property that holds its location at run time, e.g.
    ``properties.ProcessingOutputConfig.Outputs['features'].S3Output.S3Uri``; the renderer uses it, the local
    executor uses the logical name.
    """

    logical_name: str
    output_type: DependencyType
    property_path: str
    aliases: tuple[str, ...] = ()
    data_type: str = "S3Uri"
    description: str = ""


class ExecutionVariable(StrEnum):
    """A value known only when a run starts; a step parameter may take one (see ``execution_parameters``).

    On SageMaker it is the pipeline execution variable of that name; the local executor supplies the run's own.
    """

    START_DATE_TIME = "StartDateTime"
    PIPELINE_EXECUTION_ID = "PipelineExecutionId"


@dataclass(frozen=True)
class StepSpecification:
    """The full contract of one step: identity, job type, entry point, inputs, outputs, default parameters.

    ``entry_point`` is the dotted module whose ``run(ctx: StepContext) -> dict`` does the work; the module
    must import nothing outside its own folder and ``pipeline_code.common``.
    ``network_access``: the job calls a service itself (e.g. Feature Store); every other job runs network-isolated.
    ``execution_parameters``: parameters whose value is an execution variable (the run's start time...), filled in
    by the back end at run time, e.g. an idempotent event time that a retry of the same run reuses.
    """

    step_type: str
    node_type: NodeType
    job_type: JobType
    entry_point: str
    dependencies: tuple[DependencySpec, ...] = ()
    outputs: tuple[OutputSpec, ...] = ()
    parameters: Mapping[str, Any] = field(default_factory=dict)
    description: str = ""
    network_access: bool = False
    execution_parameters: Mapping[str, ExecutionVariable] = field(default_factory=dict)

    def dependency(self, logical_name: str) -> DependencySpec:
        for dep in self.dependencies:
            if dep.logical_name == logical_name:
                return dep
        raise KeyError(f"step {self.step_type!r} declares no dependency {logical_name!r}")

    def output(self, logical_name: str) -> OutputSpec:
        for out in self.outputs:
            if out.logical_name == logical_name:
                return out
        raise KeyError(f"step {self.step_type!r} declares no output {logical_name!r}")


def processing_output_path(logical_name: str) -> str:
    """SageMaker property path of a processing job output."""
    return f"properties.ProcessingOutputConfig.Outputs['{logical_name}'].S3Output.S3Uri"


TRAINING_MODEL_PATH = "properties.ModelArtifacts.S3ModelArtifacts"


@dataclass(frozen=True)
class PublishedArtifact:
    """A file or folder copied from a step output into the top of a run directory (the run's public contract).

    ``path`` is relative to the output folder; empty means the whole folder.
    """

    step_type: str
    output: str
    path: str = ""


@dataclass(frozen=True)
class DriftBaselines:
    """Where the baselines a registered model carries are: output ``output`` of step ``step`` holds the folders
    ``data_quality`` and ``model_quality`` (each ``statistics.json`` + ``constraints.json``, Model Monitor's format)
    and the bias analysis configuration file ``bias_config``. Empty names leave that baseline out."""

    step: str
    output: str
    data_quality: str = ""
    model_quality: str = ""
    bias_config: str = ""


@dataclass(frozen=True)
class QualityGate:
    """When a trained model may be registered: ``metric`` (a JSON path such as ``test.roc_auc``) of the report file
    ``report_file`` in output ``report_output`` of ``report_step`` must reach the report step's parameter
    ``threshold_parameter``. The model registered is output ``model_output`` of ``model_step``.

    The local back end reads the verdict the report step writes; SageMaker renders a condition step, a fail step
    and a model registration from it, with ``baselines`` (if any) as the package's drift-check baselines.
    """

    report_step: str
    report_output: str
    report_file: str
    metric: str
    threshold_parameter: str
    model_step: str
    model_output: str = "model"
    content_types: tuple[str, ...] = ("text/csv",)
    response_types: tuple[str, ...] = ("application/json",)
    baselines: DriftBaselines | None = None


@dataclass(frozen=True)
class PipelineDefinition:
    """Everything a back end needs to run one model's pipeline, declared by the model package.

    - ``specs``: the steps; their order does not matter, the resolver wires them.
    - ``external_inputs``: logical names the SOURCE steps read from outside the pipeline (e.g. ``raw_data``).
    - ``publish``: run-directory name -> artefact, e.g. ``"metrics.json": PublishedArtifact("AdherenceEvaluate",
      "evaluation", "metrics.json")``.
    - ``batch_predict``: dotted path of ``fn(model_dir: Path, input_path: Path, output_path: Path) -> dict``
      used by ``mlops predict <model>`` on a published ``model/`` folder.
    - ``report_sections``: dotted path of ``fn(run_dir: Path) -> list[ReportSection]``, the model's own sections of
      the run's ``report.html`` (``pipeline_code.dag.report``); empty: the generic sections only.
    - ``quality_gate``: what decides registration (see :class:`QualityGate`).
    """

    name: str
    specs: tuple[StepSpecification, ...]
    external_inputs: tuple[str, ...] = ()
    publish: Mapping[str, PublishedArtifact] = field(default_factory=dict)
    batch_predict: str = ""
    report_sections: str = ""
    description: str = ""
    quality_gate: QualityGate | None = None
