"""Pipeline assembler: ordered, immutable, back-end-neutral plans with merged parameters."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping

import pytest

from pipeline_code.dag import (
    BuiltInput,
    CycleError,
    DependencyType,
    ExternalInputRef,
    ParameterError,
    PipelineAssembler,
    PlannedStep,
    SpecValidationError,
    StepOutputRef,
    UnknownStepError,
    assemble,
)
from pipeline_code.dag.spec import PipelineDefinition, PublishedArtifact
from tests.dag.dag_helpers import dep, make_spec, out
from tests.dag.toy_steps.pipeline import make_definition

T = DependencyType


def test_toy_plan_order_bindings_and_parameters() -> None:
    plan = assemble(make_definition(), {"ToyTrain": {"bias": 0.5}})
    assert plan.order == ("ToyIngest", "ToyProfile", "ToySplit", "ToyTrain", "ToyEvaluate")
    assert plan.step("ToyIngest").inputs == {"raw_data": ExternalInputRef("raw_data")}
    assert plan.step("ToyEvaluate").inputs == {
        "model": StepOutputRef("ToyTrain", "model"),
        "test": StepOutputRef("ToySplit", "test"),
    }
    assert plan.step("ToyEvaluate").upstream == ("ToySplit", "ToyTrain")
    assert dict(plan.step("ToyTrain").parameters) == {"bias": 0.5, "fail": False}
    assert dict(plan.step("ToyIngest").parameters) == {"scale": 1.0}
    assert plan.dag().topological_order() == plan.order
    # Explanations come in run order.
    assert [e.step_type for e in plan.explanations][:1] == ["ToyIngest"]


def test_plan_is_immutable_and_does_not_alias_the_spec_defaults() -> None:
    definition = make_definition()
    plan = assemble(definition, {"ToyTrain": {"bias": 2.0}})
    step = plan.step("ToyTrain")
    with pytest.raises(dataclasses.FrozenInstanceError):
        step.parameters = {}  # type: ignore[misc]
    with pytest.raises(TypeError):
        step.parameters["bias"] = 3.0  # type: ignore[index]
    with pytest.raises(TypeError):
        step.inputs["train"] = ExternalInputRef("x")  # type: ignore[index]
    train_spec = next(s for s in definition.specs if s.step_type == "ToyTrain")
    assert train_spec.parameters["bias"] == 0.0


def test_plan_is_back_end_neutral() -> None:
    plan = assemble(make_definition())
    text = json.dumps(plan.to_dict())
    assert "/opt/ml" not in text and "s3://" not in text and "processing/" not in text


def test_unknown_step_in_overrides_is_an_error_with_a_suggestion() -> None:
    with pytest.raises(ParameterError, match=r"unknown step 'ToyTrian'.*did you mean 'ToyTrain'"):
        assemble(make_definition(), {"ToyTrian": {"bias": 1}})


def test_unknown_parameter_is_an_error_listing_known_ones() -> None:
    with pytest.raises(ParameterError, match=r"step 'ToyTrain' has no parameter 'biass' \(parameters: bias, fail\)"):
        assemble(make_definition(), {"ToyTrain": {"biass": 1}})


def test_non_json_parameter_values_are_rejected() -> None:
    with pytest.raises(ParameterError, match="not a JSON value"):
        assemble(make_definition(), {"ToyTrain": {"bias": object()}})
    with pytest.raises(ParameterError, match="must be a mapping"):
        assemble(make_definition(), {"ToyTrain": 3})  # type: ignore[dict-item]


def test_cycle_through_resolution_is_named() -> None:
    a = make_spec("A", [dep("b_out", T.PROCESSING_OUTPUT)], [out("a_out", T.PROCESSING_OUTPUT)])
    b = make_spec("B", [dep("a_out", T.PROCESSING_OUTPUT)], [out("b_out", T.PROCESSING_OUTPUT)])
    with pytest.raises(CycleError, match="A -> B -> A"):
        assemble(PipelineDefinition("loop", (a, b)))


def test_publish_must_name_real_steps_and_outputs() -> None:
    definition = dataclasses.replace(make_definition(), publish={"x": PublishedArtifact("ToyTrain", "nope")})
    with pytest.raises(SpecValidationError, match=r"published artefact 'x'.*no output 'nope'"):
        assemble(definition)
    definition = dataclasses.replace(make_definition(), publish={"x": PublishedArtifact("Ghost", "model")})
    with pytest.raises(SpecValidationError, match=r"published artefact 'x'.*'Ghost'"):
        assemble(definition)


def test_plan_step_lookup() -> None:
    plan = PipelineAssembler(make_definition()).assemble()
    with pytest.raises(UnknownStepError, match="has no step 'Ghost'"):
        plan.step("Ghost")


def test_build_hands_each_builder_what_was_built_upstream() -> None:
    plan = assemble(make_definition())
    seen: dict[str, Mapping[str, BuiltInput[str]]] = {}

    def builder(step: PlannedStep, inputs: Mapping[str, BuiltInput[str]]) -> str:
        seen[step.step_type] = inputs
        return f"built:{step.step_type}"

    built = plan.build(builder)
    assert list(built) == list(plan.order)
    assert seen["ToyEvaluate"]["model"].upstream == "built:ToyTrain"
    assert seen["ToyIngest"]["raw_data"].is_external and seen["ToyIngest"]["raw_data"].upstream is None
