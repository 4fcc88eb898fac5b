"""Hypothesis properties of the DAG layer: ordering, cycle naming, type safety and determinism of resolution."""

from __future__ import annotations

import itertools
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline_code.dag import (
    CycleError,
    DependencyResolver,
    DependencyType,
    PipelineDAG,
    ResolutionError,
    StepOutputRef,
    types_compatible,
)
from pipeline_code.dag.spec import DependencySpec, NodeType, OutputSpec, StepSpecification, processing_output_path
from tests.dag.dag_helpers import make_spec

FAST = settings(max_examples=60, deadline=None)
NODE_NAMES = [f"N{i}" for i in range(12)]
VOCABULARY = ["data", "train", "test", "model", "features", "report", "raw_data", "train_data", "holdout", "scores"]
STEP_NAMES = ["Alpha", "Beta", "Gamma", "Delta", "Epsilon", "Zeta"]


@st.composite
def dags(draw: st.DrawFn) -> tuple[list[str], list[tuple[str, str]]]:
    """A random DAG: nodes in a random hidden order, edges only from earlier to later nodes."""
    nodes = draw(st.lists(st.sampled_from(NODE_NAMES), min_size=1, max_size=12, unique=True))
    pairs = [(a, b) for i, a in enumerate(nodes) for b in nodes[i + 1 :]]
    edges = draw(st.lists(st.sampled_from(pairs), unique=True, max_size=30)) if pairs else []
    return nodes, edges


@given(dags(), st.randoms(use_true_random=False))
@FAST
def test_topological_order_respects_every_edge_and_is_deterministic(
    dag: tuple[list[str], list[tuple[str, str]]], rnd: Any
) -> None:
    nodes, edges = dag
    order = PipelineDAG(nodes, edges).topological_order()
    assert sorted(order) == sorted(nodes)
    position = {node: i for i, node in enumerate(order)}
    assert all(position[a] < position[b] for a, b in edges)
    shuffled_nodes, shuffled_edges = list(nodes), list(edges)
    rnd.shuffle(shuffled_nodes)
    rnd.shuffle(shuffled_edges)
    assert PipelineDAG(shuffled_nodes, shuffled_edges).topological_order() == order


@st.composite
def cyclic_graphs(draw: st.DrawFn) -> tuple[list[str], list[tuple[str, str]]]:
    """A random graph that contains at least one cycle (planted), plus arbitrary extra edges."""
    nodes = draw(st.lists(st.sampled_from(NODE_NAMES), min_size=1, max_size=12, unique=True))
    cycle = draw(st.lists(st.sampled_from(nodes), min_size=1, max_size=len(nodes), unique=True))
    planted = [(cycle[i], cycle[(i + 1) % len(cycle)]) for i in range(len(cycle))]
    extra = draw(st.lists(st.tuples(st.sampled_from(nodes), st.sampled_from(nodes)), max_size=20))
    return nodes, planted + extra


@given(cyclic_graphs())
@FAST
def test_graphs_with_a_cycle_are_rejected_naming_a_real_cycle(graph: tuple[list[str], list[tuple[str, str]]]) -> None:
    nodes, edges = graph
    dag = PipelineDAG(nodes, edges)
    try:
        dag.topological_order()
    except CycleError as exc:
        cycle, message = exc.cycle, str(exc)
    else:
        raise AssertionError("a graph with a planted cycle was ordered")
    assert len(cycle) >= 2 and cycle[0] == cycle[-1]
    assert len(set(cycle[:-1])) == len(cycle) - 1
    edge_set = set(edges)
    assert all((a, b) in edge_set for a, b in itertools.pairwise(cycle))
    assert " -> ".join(cycle) in message


@st.composite
def spec_sets(draw: st.DrawFn) -> tuple[list[StepSpecification], list[str]]:
    """Random steps with random typed dependencies and outputs drawn from a small shared vocabulary."""
    names = draw(st.lists(st.sampled_from(STEP_NAMES), min_size=1, max_size=6, unique=True))
    types = st.sampled_from(list(DependencyType))
    specs = []
    for name in names:
        deps = [
            DependencySpec(
                logical_name=dep_name,
                dependency_type=draw(types),
                required=draw(st.booleans()),
                compatible_sources=tuple(draw(st.lists(st.sampled_from(STEP_NAMES), max_size=2, unique=True))),
                semantic_keywords=tuple(draw(st.lists(st.sampled_from(VOCABULARY), max_size=2))),
            )
            for dep_name in draw(st.lists(st.sampled_from(VOCABULARY), max_size=3, unique=True))
        ]
        outputs = [
            OutputSpec(
                out_name,
                draw(types),
                processing_output_path(out_name),
                aliases=tuple(draw(st.lists(st.sampled_from(VOCABULARY), max_size=2))),
            )
            for out_name in draw(st.lists(st.sampled_from(VOCABULARY), max_size=3, unique=True))
        ]
        node_type = draw(st.sampled_from(list(NodeType)))
        specs.append(make_spec(name, deps, outputs, node_type=node_type))
    external = draw(st.lists(st.sampled_from(VOCABULARY), max_size=2, unique=True))
    return specs, external


def _outcome(specs: list[StepSpecification], external: list[str]) -> tuple[Any, ...]:
    resolver = DependencyResolver(specs, external_inputs=external)
    explanations = [exp.to_dict() for exp in resolver.explain()]
    try:
        bindings: Any = {step: dict(inputs) for step, inputs in resolver.resolve().bindings.items()}
    except ResolutionError as exc:
        bindings = str(exc)
    return explanations, bindings


@given(spec_sets())
@FAST
def test_resolver_never_connects_incompatible_types(case: tuple[list[StepSpecification], list[str]]) -> None:
    specs, external = case
    by_name = {spec.step_type: spec for spec in specs}
    for exp in DependencyResolver(specs, external_inputs=external).explain():
        if isinstance(exp.binding, StepOutputRef):
            producer = by_name[exp.binding.step_type]
            consumer = by_name[exp.step_type]
            assert producer is not consumer
            dependency_type = consumer.dependency(exp.dependency).dependency_type
            output_type = producer.output(exp.binding.output).output_type
            assert types_compatible(dependency_type, output_type), exp.message


@given(spec_sets(), st.randoms(use_true_random=False))
@FAST
def test_resolution_is_deterministic_under_permutation(
    case: tuple[list[StepSpecification], list[str]], rnd: Any
) -> None:
    specs, external = case
    first = _outcome(specs, external)
    assert _outcome(specs, external) == first
    shuffled, shuffled_external = list(specs), list(external)
    rnd.shuffle(shuffled)
    rnd.shuffle(shuffled_external)
    assert _outcome(shuffled, shuffled_external) == first
