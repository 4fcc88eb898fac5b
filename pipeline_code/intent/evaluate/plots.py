"""Reliability diagram of the shipped model's confidence (matplotlib, Agg backend)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt


def plot_reliability(curves: dict[str, dict[str, Any]], path: Path) -> Path:
    """Accuracy against mean confidence per bin, one line per model, the diagonal as perfect calibration."""
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.plot([0, 1], [0, 1], "--", color="grey", linewidth=1, label="perfectly calibrated")
    for name, curve in curves.items():
        xs = [b["confidence"] for b in curve["bins"]]
        ys = [b["accuracy"] for b in curve["bins"]]
        ax.plot(xs, ys, "o-", label=f"{name} (ECE {curve['ece']:.3f})")
    ax.set(
        xlabel="Confidence of the predicted in-scope intent",
        ylabel="Accuracy",
        title="Reliability, in-scope test rows",
        xlim=(0, 1),
        ylim=(0, 1),
    )
    ax.legend(loc="upper left")
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)
    return path
