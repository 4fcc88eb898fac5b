"""Stratified hold-out of a validation split when the caller gives none."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def stratified_holdout(labels: Sequence[str], fraction: float, seed: int) -> np.ndarray:
    """Sorted indices of the held-out rows: ``round(fraction * n)`` rows of every label with at least two rows
    (at least one, and always leaving one in train); a label with one row stays in train."""
    rng = np.random.default_rng(seed)
    y = np.asarray(labels, dtype=object)
    held: list[int] = []
    for label in sorted(set(labels)):
        rows = np.flatnonzero(y == label)
        if len(rows) < 2:
            continue
        take = min(len(rows) - 1, max(1, round(fraction * len(rows))))
        held.extend(int(i) for i in rng.choice(rows, size=take, replace=False))
    return np.asarray(sorted(held), dtype=np.int64)
