"""The toy pipeline definition: ingest -> split -> train -> evaluate, plus an independent profile branch.

``make_definition(package)`` lets a test run a renamed copy of this package (to change step code).
"""

from __future__ import annotations

from pipeline_code.dag.spec import (
    TRAINING_MODEL_PATH,
    DependencySpec,
    DependencyType,
    JobType,
    NodeType,
    OutputSpec,
    PipelineDefinition,
    PublishedArtifact,
    StepSpecification,
    processing_output_path,
)


def make_specs(package: str = "tests.dag.toy_steps") -> tuple[StepSpecification, ...]:
    return (
        StepSpecification(
            step_type="ToyIngest",
            node_type=NodeType.SOURCE,
            job_type=JobType.PROCESSING,
            entry_point=f"{package}.ingest",
            dependencies=(DependencySpec("raw_data", DependencyType.RAW_DATA),),
            outputs=(
                OutputSpec(
                    "clean",
                    DependencyType.PROCESSING_OUTPUT,
                    processing_output_path("clean"),
                    aliases=("clean_data", "cleaned_data"),
                ),
            ),
            parameters={"scale": 1.0},
        ),
        StepSpecification(
            step_type="ToySplit",
            node_type=NodeType.INTERNAL,
            job_type=JobType.PROCESSING,
            entry_point=f"{package}.split",
            dependencies=(
                DependencySpec(
                    "clean_data",
                    DependencyType.PROCESSING_OUTPUT,
                    compatible_sources=("ToyIngest",),
                    semantic_keywords=("clean",),
                ),
            ),
            outputs=(
                OutputSpec("train", DependencyType.TRAINING_DATA, processing_output_path("train")),
                OutputSpec(
                    "test", DependencyType.PROCESSING_OUTPUT, processing_output_path("test"), aliases=("holdout",)
                ),
            ),
            parameters={"tamper": False},
        ),
        StepSpecification(
            step_type="ToyTrain",
            node_type=NodeType.INTERNAL,
            job_type=JobType.TRAINING,
            entry_point=f"{package}.train",
            dependencies=(DependencySpec("train", DependencyType.TRAINING_DATA, semantic_keywords=("training",)),),
            outputs=(OutputSpec("model", DependencyType.MODEL_ARTIFACTS, TRAINING_MODEL_PATH),),
            parameters={"bias": 0.0, "fail": False},
        ),
        StepSpecification(
            step_type="ToyEvaluate",
            node_type=NodeType.SINK,
            job_type=JobType.PROCESSING,
            entry_point=f"{package}.evaluate",
            dependencies=(
                DependencySpec("model", DependencyType.MODEL_ARTIFACTS),
                DependencySpec("test", DependencyType.PROCESSING_OUTPUT, semantic_keywords=("holdout",)),
            ),
            outputs=(OutputSpec("evaluation", DependencyType.EVALUATION_REPORT, processing_output_path("evaluation")),),
        ),
        StepSpecification(
            step_type="ToyProfile",
            node_type=NodeType.SINK,
            job_type=JobType.PROCESSING,
            entry_point=f"{package}.profile",
            dependencies=(
                DependencySpec("clean", DependencyType.PROCESSING_OUTPUT, compatible_sources=("ToyIngest",)),
            ),
            outputs=(OutputSpec("profile", DependencyType.EVALUATION_REPORT, processing_output_path("profile")),),
        ),
    )


def make_definition(package: str = "tests.dag.toy_steps", name: str = "toy") -> PipelineDefinition:
    return PipelineDefinition(
        name=name,
        specs=make_specs(package),
        external_inputs=("raw_data",),
        publish={
            "metrics.json": PublishedArtifact("ToyEvaluate", "evaluation", "metrics.json"),
            "model": PublishedArtifact("ToyTrain", "model"),
        },
        batch_predict=f"{package}.predict:batch_predict",
        description="toy pipeline for tests",
    )


DEFINITION = make_definition()
