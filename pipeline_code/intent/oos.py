"""Out-of-scope rules: score every utterance, call it out of scope below a threshold chosen on validation data.

numpy only (the edge predictor uses it). Every rule keeps the classifier's prediction and adds a rejection:
an utterance is out of scope when the predicted class is the ``oos`` class (where train had one) or when its rule
score is below the threshold.

- ``max_softmax``: the highest in-scope softmax probability (Hendrycks & Gimpel's baseline);
- ``energy``: log-sum-exp of the in-scope logits (free energy, Liu et al. 2020);
- ``centroid``: cosine similarity of the sentence embedding to the nearest in-scope class centroid (centroids of the
  training embeddings of the shipped model).

Threshold and rule are chosen on validation only, at a stated cost to the users who are in scope: each rule's
threshold is the one with the highest out-of-scope recall among those that cost at most ``max_accuracy_loss`` of
in-scope validation accuracy (relative to rejecting nothing by score); the rule with the highest recall there is
kept (ties: the higher in-scope accuracy, then the simpler rule). Both are rates, so the choice does not depend on
how many ``oos`` rows validation happens to have. (A balanced criterion, accuracy + recall, was tried first: on
CLINC150 validation it bought 97 % OOS recall for 4 points of in-scope accuracy, a bad trade for an assistant.)
Without ``oos`` rows in validation nothing can be compared: ``max_softmax`` is kept with the threshold that rejects
``fallback_reject_rate`` of the in-scope validation rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

RULES = ("max_softmax", "energy", "centroid")


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=-1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=-1, keepdims=True)


def rule_scores(
    rule: str,
    logits: np.ndarray,
    embeddings: np.ndarray,
    *,
    in_scope: np.ndarray,
    centroids: np.ndarray | None = None,
) -> np.ndarray:
    """Higher = more in scope. ``in_scope`` is the boolean mask of in-scope classes over the logits' columns."""
    if rule == "max_softmax":
        return softmax(logits)[:, in_scope].max(axis=1)
    if rule == "energy":
        z = logits[:, in_scope]
        top = z.max(axis=1)
        return top + np.log(np.exp(z - top[:, None]).sum(axis=1))
    if rule == "centroid":
        if centroids is None:
            raise ValueError("the centroid rule needs class centroids")
        return (embeddings @ centroids.T).max(axis=1)
    raise ValueError(f"unknown out-of-scope rule {rule!r}; known: {', '.join(RULES)}")


def decide(predicted_oos_class: np.ndarray, scores: np.ndarray, threshold: float) -> np.ndarray:
    """True where the utterance is out of scope."""
    return predicted_oos_class | (scores < threshold)


@dataclass(frozen=True)
class RuleChoice:
    rule: str
    threshold: float
    in_scope_accuracy: float
    oos_recall: float
    criterion: float


def best_threshold(
    scores: np.ndarray,
    predicted_oos_class: np.ndarray,
    correct: np.ndarray,
    is_oos: np.ndarray,
    rule: str,
    *,
    max_accuracy_loss: float,
) -> RuleChoice:
    """The threshold with the highest oos recall on these (validation) rows among those losing at most
    ``max_accuracy_loss`` of in-scope accuracy; ties -> higher in-scope accuracy (the lower threshold).

    ``correct``: the in-scope prediction is right (rows of in-scope truth); ``is_oos``: truth is out of scope.
    """
    candidates = np.unique(scores)
    # Midpoints between neighbouring scores, plus one below everything (reject nothing by score).
    if not len(candidates):
        return RuleChoice(rule, float("-inf"), float("nan"), float("nan"), float("nan"))
    cuts = np.concatenate([[candidates[0] - 1.0], (candidates[:-1] + candidates[1:]) / 2.0])
    n_in, n_oos = max(1, int((~is_oos).sum())), max(1, int(is_oos.sum()))
    best: RuleChoice | None = None
    baseline: float | None = None
    for cut in cuts:  # ascending: the first cut rejects nothing by score
        rejected = decide(predicted_oos_class, scores, float(cut))
        acc = float((correct & ~rejected & ~is_oos).sum()) / n_in
        rec = float((rejected & is_oos).sum()) / n_oos
        if baseline is None:
            baseline = acc
        if acc < baseline - max_accuracy_loss - 1e-12:
            continue
        if best is None or (rec, acc) > (best.oos_recall + 1e-12, best.in_scope_accuracy + 1e-12):
            best = RuleChoice(rule, float(cut), acc, rec, rec)
    assert best is not None
    return best


def choose_rule(
    logits: np.ndarray,
    embeddings: np.ndarray,
    truth: Sequence[str],
    classes: Sequence[str],
    *,
    oos_label: str,
    centroids: np.ndarray | None,
    fallback_reject_rate: float,
    max_accuracy_loss: float = 0.005,
    rules: Sequence[str] = RULES,
) -> tuple[RuleChoice, list[RuleChoice]]:
    """Compare ``rules`` on validation; return the kept one and every candidate (for the report)."""
    classes_arr = np.asarray(classes, dtype=object)
    in_scope = classes_arr != oos_label
    truth_arr = np.asarray(truth, dtype=object)
    is_oos = truth_arr == oos_label
    scoring = np.where(in_scope, logits, -np.inf)
    predicted = classes_arr[scoring.argmax(axis=1)]
    predicted_oos_class = classes_arr[logits.argmax(axis=1)] == oos_label
    correct = predicted == truth_arr
    available = [r for r in rules if r != "centroid" or centroids is not None]
    if not is_oos.any():
        scores = rule_scores("max_softmax", logits, embeddings, in_scope=in_scope)
        in_rows = scores[~is_oos]
        threshold = float(np.quantile(in_rows, fallback_reject_rate)) if fallback_reject_rate > 0 else -np.inf
        rejected = decide(predicted_oos_class, scores, threshold)
        acc = float((correct & ~rejected).mean()) if len(correct) else 0.0
        choice = RuleChoice("max_softmax", threshold, acc, float("nan"), float("nan"))
        return choice, [choice]
    candidates = [
        best_threshold(
            rule_scores(rule, logits, embeddings, in_scope=in_scope, centroids=centroids),
            predicted_oos_class,
            correct,
            is_oos,
            rule,
            max_accuracy_loss=max_accuracy_loss,
        )
        for rule in available
    ]
    kept = max(
        candidates, key=lambda c: (round(c.oos_recall, 9), round(c.in_scope_accuracy, 9), -available.index(c.rule))
    )
    return kept, candidates


def rule_document(
    choice: RuleChoice, candidates: Sequence[RuleChoice], *, oos_class: bool, max_accuracy_loss: float
) -> dict[str, Any]:
    """``oos_rule.json`` of the model folder: the kept rule, its threshold and how it was chosen."""
    return {
        "rule": choice.rule,
        "threshold": choice.threshold,
        "oos_class": oos_class,
        "chosen_on": "validation",
        "criterion": "highest out-of-scope recall costing at most max_accuracy_loss of in-scope accuracy",
        "max_accuracy_loss": max_accuracy_loss,
        "validation": {
            c.rule: {
                "threshold": c.threshold,
                "in_scope_accuracy": c.in_scope_accuracy,
                "oos_recall": c.oos_recall,
                "criterion": c.criterion,
            }
            for c in candidates
        },
    }
