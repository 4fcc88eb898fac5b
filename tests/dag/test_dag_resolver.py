"""Dependency resolver: scoring parts, choices, explanations, and errors that name the step and the input."""

from __future__ import annotations

import json

import pytest

from pipeline_code.dag import (
    DependencyResolver,
    DependencyType,
    ExternalInputRef,
    MatchStatus,
    ResolutionError,
    StepOutputRef,
)
from pipeline_code.dag.resolver import jaccard, tokenize, types_compatible
from pipeline_code.dag.spec import NodeType
from tests.dag.dag_helpers import dep, make_spec, out

T = DependencyType


def binding(resolver: DependencyResolver, step: str, name: str) -> object:
    return resolver.resolve().bindings[step].get(name)


def test_tokenize_splits_cases_and_stems_lightly() -> None:
    assert tokenize("train_data") == {"train", "data"}
    assert tokenize("TrainingData") == {"train", "data"}
    assert tokenize("eval-reports", "Holdout set") == {"eval", "report", "holdout", "set"}
    assert tokenize("HTTPServer") == {"http", "server"}
    assert jaccard(frozenset(), frozenset()) == 0.0


def test_type_compatibility_table() -> None:
    assert types_compatible(T.TRAINING_DATA, T.PROCESSING_OUTPUT)
    assert types_compatible(T.PROCESSING_OUTPUT, T.TRAINING_DATA)
    assert types_compatible(T.MODEL_ARTIFACTS, T.MODEL_ARTIFACTS)
    assert not types_compatible(T.MODEL_ARTIFACTS, T.PROCESSING_OUTPUT)
    assert not types_compatible(T.RAW_DATA, T.PROCESSING_OUTPUT)
    assert all(types_compatible(t, t) for t in T)


def test_score_breakdown_of_a_perfect_match() -> None:
    split = make_spec("Split", outputs=[out("train", T.TRAINING_DATA)])
    train = make_spec("Train", [dep("train", T.TRAINING_DATA, compatible_sources=("Split",))])
    resolver = DependencyResolver([split, train])
    score = resolver.score(train, train.dependencies[0], split, split.outputs[0])
    assert (score.type_score, score.data_type_score, score.source_score) == (0.40, 0.10, 0.20)
    assert (score.semantic_score, score.exact_match_bonus, score.total) == (0.25, 0.05, 1.0)
    assert score.shared_tokens == ("train",)
    assert "Split.train 1.00 = type 0.40" in score.describe()


def test_best_semantic_match_wins_and_is_explained() -> None:
    split = make_spec("Split", outputs=[out("train", T.TRAINING_DATA), out("test", T.TRAINING_DATA)])
    train = make_spec("Train", [dep("training_data", T.TRAINING_DATA, semantic_keywords=("fit",))])
    resolver = DependencyResolver([split, train])
    assert binding(resolver, "Train", "training_data") == StepOutputRef("Split", "train")
    (explanation,) = resolver.explain()
    assert explanation.status == MatchStatus.BOUND
    assert explanation.chosen is not None and explanation.chosen.ref == StepOutputRef("Split", "train")
    assert [c.ref for c in explanation.runner_ups] == [StepOutputRef("Split", "test")]
    assert explanation.runner_ups[0].total < explanation.chosen.total
    json.dumps(explanation.to_dict())  # structured and serialisable, for `mlops explain --json`


def test_compatible_type_can_feed_with_name_overlap() -> None:
    features = make_spec("Features", outputs=[out("features", T.PROCESSING_OUTPUT)])
    train = make_spec("Train", [dep("features", T.TRAINING_DATA)])
    resolver = DependencyResolver([features, train])
    assert binding(resolver, "Train", "features") == StepOutputRef("Features", "features")
    chosen = resolver.explain()[0].chosen
    assert chosen is not None and chosen.type_score == 0.30


def test_incompatible_types_are_never_connected_even_with_equal_names() -> None:
    trainer = make_spec("Trainer", outputs=[out("train", T.MODEL_ARTIFACTS)])
    consumer = make_spec("Consumer", [dep("train", T.TRAINING_DATA, compatible_sources=("Trainer",))])
    resolver = DependencyResolver([trainer, consumer], pipeline="p")
    with pytest.raises(ResolutionError) as caught:
        resolver.resolve()
    message = str(caught.value)
    assert "Consumer: required input 'train' (training_data) has no producer" in message
    assert "closest: Trainer.train is model_artifacts, an incompatible type" in message  # what was close


def test_compatible_sources_pick_between_identical_outputs() -> None:
    a = make_spec("CleanA", outputs=[out("data", T.PROCESSING_OUTPUT)])
    b = make_spec("CleanB", outputs=[out("data", T.PROCESSING_OUTPUT)])
    consumer = make_spec("Use", [dep("data", T.PROCESSING_OUTPUT, compatible_sources=("CleanB",))])
    resolver = DependencyResolver([a, b, consumer])
    assert binding(resolver, "Use", "data") == StepOutputRef("CleanB", "data")


def test_unlisted_source_needs_name_overlap() -> None:
    other = make_spec("Other", outputs=[out("blob", T.PROCESSING_OUTPUT)])
    consumer = make_spec("Use", [dep("features", T.PROCESSING_OUTPUT, compatible_sources=("Features",))])
    with pytest.raises(ResolutionError, match=r"Use: required input 'features'.*closest: Other\.blob 0\.50"):
        DependencyResolver([other, consumer]).resolve()


def test_alias_match_gets_the_exact_bonus() -> None:
    split = make_spec(
        "Split", outputs=[out("fold_a", T.PROCESSING_OUTPUT, "holdout"), out("fold_b", T.PROCESSING_OUTPUT)]
    )
    evaluate = make_spec("Evaluate", [dep("holdout", T.PROCESSING_OUTPUT)])
    resolver = DependencyResolver([split, evaluate])
    assert binding(resolver, "Evaluate", "holdout") == StepOutputRef("Split", "fold_a")
    chosen = resolver.explain()[0].chosen
    assert chosen is not None and chosen.exact_match_bonus == 0.05


def test_equal_scores_on_a_required_input_are_ambiguous() -> None:
    a = make_spec("A", outputs=[out("table", T.PROCESSING_OUTPUT)])
    b = make_spec("B", outputs=[out("table", T.PROCESSING_OUTPUT)])
    consumer = make_spec("C", [dep("table", T.PROCESSING_OUTPUT)])
    resolver = DependencyResolver([a, b, consumer], pipeline="p")
    with pytest.raises(ResolutionError) as caught:
        resolver.resolve()
    assert "C: required input 'table' is ambiguous: A.table and B.table" in str(caught.value)
    assert resolver.explain()[0].status == MatchStatus.AMBIGUOUS
    assert caught.value.problems == (resolver.explain()[0].message,)


def test_optional_inputs_may_stay_unbound() -> None:
    a = make_spec("A", outputs=[out("table", T.PROCESSING_OUTPUT)])
    b = make_spec("B", outputs=[out("table", T.PROCESSING_OUTPUT)])
    consumer = make_spec(
        "C",
        [dep("table", T.PROCESSING_OUTPUT, required=False), dep("baseline", T.EVALUATION_REPORT, required=False)],
    )
    resolver = DependencyResolver([a, b, consumer])
    resolution = resolver.resolve()
    assert dict(resolution.bindings["C"]) == {}
    statuses = {exp.dependency: exp.status for exp in resolver.explain() if exp.step_type == "C"}
    assert statuses == {"table": MatchStatus.UNBOUND, "baseline": MatchStatus.UNBOUND}
    assert "left unbound" in next(e.message for e in resolver.explain() if e.dependency == "table")


def test_missing_required_input_names_step_input_and_closest() -> None:
    split = make_spec("Split", outputs=[out("train", T.TRAINING_DATA)])
    evaluate = make_spec("Evaluate", [dep("model", T.MODEL_ARTIFACTS), dep("test", T.PROCESSING_OUTPUT)])
    with pytest.raises(ResolutionError) as caught:
        DependencyResolver([split, evaluate], pipeline="toy").resolve()
    assert "pipeline 'toy'" in str(caught.value)
    assert caught.value.problems[0].startswith("Evaluate: required input 'model' (model_artifacts) has no producer")
    # A merely compatible type without any name overlap scores 0.50: too weak to bind.
    assert caught.value.problems[1].startswith("Evaluate: required input 'test'")
    assert "closest: Split.train 0.50" in caught.value.problems[1]


def test_source_raw_data_binds_to_external_inputs() -> None:
    ingest = make_spec("Ingest", [dep("raw_data", T.RAW_DATA)], node_type=NodeType.SOURCE)
    resolver = DependencyResolver([ingest], external_inputs=["raw_data"])
    assert binding(resolver, "Ingest", "raw_data") == ExternalInputRef("raw_data")
    assert resolver.explain()[0].status == MatchStatus.EXTERNAL

    with pytest.raises(ResolutionError, match=r"Ingest: required input 'raw_data'.*declares: csv_drop"):
        DependencyResolver([ingest], external_inputs=["csv_drop"]).resolve()


def test_raw_data_of_a_non_source_step_comes_from_steps() -> None:
    fetch = make_spec("Fetch", outputs=[out("raw_data", T.RAW_DATA)])
    use = make_spec("Use", [dep("raw_data", T.RAW_DATA)])
    resolver = DependencyResolver([fetch, use], external_inputs=["raw_data"])
    assert binding(resolver, "Use", "raw_data") == StepOutputRef("Fetch", "raw_data")


def test_a_step_never_feeds_itself() -> None:
    loop = make_spec("Loop", [dep("table", T.PROCESSING_OUTPUT)], [out("table", T.PROCESSING_OUTPUT)])
    with pytest.raises(ResolutionError, match="no step declares a compatible output"):
        DependencyResolver([loop]).resolve()


def test_resolution_edges() -> None:
    split = make_spec("Split", outputs=[out("train", T.TRAINING_DATA), out("test", T.PROCESSING_OUTPUT)])
    train = make_spec("Train", [dep("train", T.TRAINING_DATA)], [out("model", T.MODEL_ARTIFACTS)])
    evaluate = make_spec("Evaluate", [dep("model", T.MODEL_ARTIFACTS), dep("test", T.PROCESSING_OUTPUT)])
    resolution = DependencyResolver([evaluate, train, split]).resolve()
    assert resolution.edges() == (("Split", "Evaluate"), ("Split", "Train"), ("Train", "Evaluate"))


def test_type_agreement_alone_does_not_bind() -> None:
    report = make_spec("Profile", outputs=[out("profile", T.EVALUATION_REPORT)])
    listed = make_spec("Gate", [dep("baseline", T.EVALUATION_REPORT, compatible_sources=("Profile",))])
    unlisted = make_spec("Drift", [dep("baseline", T.EVALUATION_REPORT)])
    resolver = DependencyResolver([report, listed, unlisted])
    by_step = {exp.step_type: exp for exp in resolver.explain()}
    assert by_step["Gate"].binding == StepOutputRef("Profile", "profile")  # an explicitly allowed source is enough
    assert by_step["Drift"].status == MatchStatus.MISSING
    assert "closest: Profile.profile 0.60" in by_step["Drift"].message
