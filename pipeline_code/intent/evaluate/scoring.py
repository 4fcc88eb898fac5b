"""Test metrics of intent predictions: in-scope accuracy, out-of-scope recall / precision, macro F1, confusion, ECE."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.metrics import f1_score

from pipeline_code.intent.contract import OOS_LABEL


def intent_metrics(
    truth: Sequence[str], final: Sequence[str], closed_set: Sequence[str], *, oos_label: str = OOS_LABEL
) -> dict[str, Any]:
    """``final``: predictions after the out-of-scope rule (``oos`` when rejected); ``closed_set``: best in-scope class.

    ``accuracy`` is over in-scope rows and counts a wrongly rejected row as wrong (the CLINC150 definition).
    """
    y = np.asarray(truth, dtype=object)
    f = np.asarray(final, dtype=object)
    c = np.asarray(closed_set, dtype=object)
    in_rows = y != oos_label
    out: dict[str, Any] = {
        "rows": len(y),
        "in_scope_rows": int(in_rows.sum()),
        "oos_rows": int((~in_rows).sum()),
        "accuracy": float((f[in_rows] == y[in_rows]).mean()) if in_rows.any() else float("nan"),
        "accuracy_closed_set": float((c[in_rows] == y[in_rows]).mean()) if in_rows.any() else float("nan"),
        "in_scope_rejected": float((f[in_rows] == oos_label).mean()) if in_rows.any() else float("nan"),
        "macro_f1": float(f1_score(y, f, labels=sorted(set(y.tolist())), average="macro", zero_division=0))
        if len(y)
        else float("nan"),
    }
    if (~in_rows).any():
        predicted_oos = f == oos_label
        out["oos_recall"] = float(predicted_oos[~in_rows].mean())
        out["oos_precision"] = float((~in_rows)[predicted_oos].mean()) if predicted_oos.any() else float("nan")
    return out


def confusion_top(truth: Sequence[str], predicted: Sequence[str], top: int) -> list[tuple[str, str, int]]:
    """The ``top`` most frequent (true, predicted) pairs with true != predicted; ties by name."""
    pairs = Counter((t, p) for t, p in zip(truth, predicted, strict=True) if t != p)
    return sorted(((t, p, n) for (t, p), n in pairs.items()), key=lambda r: (-r[2], r[0], r[1]))[:top]


def reliability(confidence: np.ndarray, correct: np.ndarray, bins: int) -> dict[str, Any]:
    """Per-bin mean confidence and accuracy, and the expected calibration error (bins of equal width)."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1]), 0, bins - 1)
    rows = []
    ece = 0.0
    for b in range(bins):
        mask = which == b
        if not mask.any():
            continue
        conf, acc = float(confidence[mask].mean()), float(correct[mask].mean())
        ece += mask.mean() * abs(conf - acc)
        rows.append(
            {
                "low": float(edges[b]),
                "high": float(edges[b + 1]),
                "count": int(mask.sum()),
                "confidence": conf,
                "accuracy": acc,
            }
        )
    return {"bins": rows, "ece": float(ece) if len(confidence) else float("nan")}
