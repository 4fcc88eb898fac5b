"""Out-of-scope rules: thresholds and the kept rule come from validation rows only."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline_code.intent.oos import best_threshold, choose_rule, rule_scores, softmax

CLASSES = ["a", "b", "oos"]


def test_threshold_separates_a_separable_validation_set() -> None:
    scores = np.array([0.9, 0.8, 0.95, 0.2, 0.1])
    is_oos = np.array([False, False, False, True, True])
    correct = np.array([True, True, True, False, False])
    choice = best_threshold(scores, np.zeros(5, bool), correct, is_oos, "x", max_accuracy_loss=0.0)
    assert 0.2 < choice.threshold < 0.8
    assert choice.in_scope_accuracy == 1.0 and choice.oos_recall == 1.0


def test_kept_rule_is_the_best_on_validation_and_oos_class_counts() -> None:
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(40, 3)) * 3
    embeddings = rng.normal(size=(40, 4))
    embeddings /= np.linalg.norm(embeddings, axis=1, keepdims=True)
    truth = [CLASSES[k] for k in rng.integers(0, 3, size=40)]
    centroids = np.eye(4)[:2]
    kept, candidates = choose_rule(
        logits, embeddings, truth, CLASSES, oos_label="oos", centroids=centroids, fallback_reject_rate=0.01
    )
    assert {c.rule for c in candidates} == {"max_softmax", "energy", "centroid"}
    assert kept.oos_recall == max(c.oos_recall for c in candidates)


def test_threshold_respects_the_in_scope_accuracy_budget() -> None:
    rng = np.random.default_rng(3)
    scores = np.concatenate([rng.uniform(0.3, 1.0, 200), rng.uniform(0.0, 0.6, 50)])
    is_oos = np.arange(250) >= 200
    correct = ~is_oos
    for budget in (0.0, 0.02, 0.1):
        choice = best_threshold(scores, np.zeros(250, bool), correct, is_oos, "x", max_accuracy_loss=budget)
        assert choice.in_scope_accuracy >= 1.0 - budget - 1e-9
        looser = best_threshold(scores, np.zeros(250, bool), correct, is_oos, "x", max_accuracy_loss=budget + 0.05)
        assert looser.oos_recall >= choice.oos_recall


def test_without_oos_rows_the_fallback_rejects_the_given_share() -> None:
    rng = np.random.default_rng(1)
    logits = rng.normal(size=(200, 2))
    truth = ["a" if z[0] > z[1] else "b" for z in logits]
    kept, _ = choose_rule(
        logits, np.zeros((200, 2)), truth, ["a", "b"], oos_label="oos", centroids=None, fallback_reject_rate=0.05
    )
    scores = rule_scores("max_softmax", logits, np.zeros((200, 2)), in_scope=np.array([True, True]))
    assert kept.rule == "max_softmax"
    assert abs(float((scores < kept.threshold).mean()) - 0.05) <= 0.01


@settings(max_examples=50, deadline=None)
@given(st.lists(st.lists(st.floats(-50, 50), min_size=3, max_size=3), min_size=1, max_size=20))
def test_softmax_rows_are_probabilities(rows: list[list[float]]) -> None:
    p = softmax(np.asarray(rows))
    assert np.all(p >= 0) and np.allclose(p.sum(axis=1), 1.0)
