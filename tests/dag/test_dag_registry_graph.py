"""Spec registry and PipelineDAG: registration rules, deterministic order, named cycles."""

from __future__ import annotations

import pytest

from pipeline_code.dag import (
    CycleError,
    DependencyType,
    DuplicateSpecError,
    PipelineDAG,
    SpecRegistry,
    SpecValidationError,
    UnknownStepError,
)
from pipeline_code.dag.spec import StepSpecification
from tests.dag.dag_helpers import dep, make_spec, out


def test_registry_registers_and_looks_up_by_step_type() -> None:
    registry = SpecRegistry()
    spec = registry.register(make_spec("Train"))
    assert registry.get("Train") is spec
    assert "Train" in registry and "Other" not in registry
    assert len(registry) == 1


def test_registry_iterates_in_step_type_order() -> None:
    registry = SpecRegistry([make_spec("B"), make_spec("C"), make_spec("A")])
    assert [spec.step_type for spec in registry] == ["A", "B", "C"]
    assert registry.step_types == ("A", "B", "C")


def test_duplicate_registration_is_an_error() -> None:
    registry = SpecRegistry([make_spec("Train")])
    with pytest.raises(DuplicateSpecError, match="'Train' is already registered"):
        registry.register(make_spec("Train"))


def test_unknown_lookup_lists_registered_types() -> None:
    registry = SpecRegistry([make_spec("Train"), make_spec("Split")])
    with pytest.raises(UnknownStepError, match=r"'Evaluate'.*registered: Split, Train"):
        registry.get("Evaluate")


def test_registries_are_independent() -> None:
    first, second = SpecRegistry(), SpecRegistry()
    first.register(make_spec("Train"))
    assert "Train" not in second
    second.register(make_spec("Train"))  # no clash: nothing global


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (make_spec("bad name"), "step type 'bad name'"),
        (make_spec("1Train"), "step type '1Train'"),
        (make_spec("Train", [dep("a", DependencyType.RAW_DATA), dep("a", DependencyType.RAW_DATA)]), "'a' twice"),
        (make_spec("Train", outputs=[out("m/x", DependencyType.MODEL_ARTIFACTS)]), "output name 'm/x'"),
    ],
)
def test_malformed_specs_are_rejected(spec: StepSpecification, message: str) -> None:
    with pytest.raises(SpecValidationError, match=message):
        SpecRegistry([spec])


def test_entry_point_must_be_a_dotted_module() -> None:
    spec = StepSpecification("Train", make_spec("x").node_type, make_spec("x").job_type, entry_point="not a module")
    with pytest.raises(SpecValidationError, match="entry_point 'not a module'"):
        SpecRegistry([spec])


def test_spec_lookup_helpers_name_the_step() -> None:
    spec = make_spec(
        "Train", [dep("train", DependencyType.TRAINING_DATA)], [out("model", DependencyType.MODEL_ARTIFACTS)]
    )
    assert spec.dependency("train").dependency_type == DependencyType.TRAINING_DATA
    assert spec.output("model").output_type == DependencyType.MODEL_ARTIFACTS
    with pytest.raises(KeyError, match="'Train' declares no dependency 'test'"):
        spec.dependency("test")


def test_topological_order_breaks_ties_by_name() -> None:
    dag = PipelineDAG(["d", "c", "b", "a"], [("a", "d"), ("b", "d"), ("c", "d")])
    assert dag.topological_order() == ("a", "b", "c", "d")
    # A ready node with a smaller name goes first even if it was added last.
    dag = PipelineDAG(["z", "y", "m"], [("z", "y")])
    assert dag.topological_order() == ("m", "z", "y")


def test_cycle_error_names_the_cycle() -> None:
    dag = PipelineDAG(["A", "B", "C", "D"], [("A", "B"), ("B", "C"), ("C", "A"), ("C", "D")])
    with pytest.raises(CycleError) as caught:
        dag.topological_order()
    assert caught.value.cycle == ("A", "B", "C", "A")
    assert "A -> B -> C -> A" in str(caught.value)


def test_self_loop_is_a_cycle() -> None:
    dag = PipelineDAG(["A"], [("A", "A")])
    assert dag.find_cycle() == ("A", "A")
    with pytest.raises(CycleError, match="A -> A"):
        dag.topological_order()


def test_edges_need_known_nodes() -> None:
    with pytest.raises(UnknownStepError, match="no node 'Ghost'"):
        PipelineDAG(["A"], [("A", "Ghost")])


def test_neighbours_descendants_and_ancestors() -> None:
    dag = PipelineDAG(["a", "b", "c", "d"], [("a", "b"), ("b", "c"), ("a", "d")])
    assert dag.successors("a") == ("b", "d")
    assert dag.predecessors("c") == ("b",)
    assert dag.descendants("a") == {"b", "c", "d"}
    assert dag.ancestors("c") == {"a", "b"}
    assert dag.edges == (("a", "b"), ("a", "d"), ("b", "c"))
    assert dag.find_cycle() is None
