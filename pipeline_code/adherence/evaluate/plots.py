"""ROC, precision-recall and calibration plots as PNG files (matplotlib, Agg backend: no display needed)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import matplotlib

matplotlib.use("Agg")  # before pyplot: containers and CI have no display

import matplotlib.pyplot as plt
import numpy as np
from sklearn.metrics import precision_recall_curve, roc_curve

from pipeline_code.common import metrics

Scored = dict[str, tuple[np.ndarray, np.ndarray]]
LegendPlace = Literal["lower right", "upper right", "upper left"]


def _has_both_classes(y: np.ndarray) -> bool:
    return 0 < int(y.sum()) < len(y)


def _save(fig: plt.Figure, path: Path, legend: LegendPlace) -> Path:
    for ax in fig.axes:
        if ax.get_legend_handles_labels()[0]:  # a split with one class draws no curve, hence no legend entry
            ax.legend(loc=legend)
        else:
            ax.text(0.5, 0.5, "undefined: a split has one class only", ha="center", transform=ax.transAxes)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)
    return path


def plot_roc(scored: Scored, threshold: float, path: Path) -> Path:
    """ROC curve per split, with the operating point marked."""
    fig, ax = plt.subplots(figsize=(5, 5))
    for name, (y, p) in scored.items():
        if not _has_both_classes(y):
            continue
        fpr, tpr, _ = roc_curve(y, p)
        point = metrics.at_threshold(y, p, threshold)
        ax.plot(fpr, tpr, label=f"{name} (AUC {metrics.roc_auc(y, p):.3f})")
        ax.plot(point["fp"] / max(point["fp"] + point["tn"], 1), point["recall"], "o", color=ax.lines[-1].get_color())
    ax.plot([0, 1], [0, 1], "--", color="grey", linewidth=1)
    ax.set(xlabel="False positive rate", ylabel="True positive rate (recall)", title="ROC (dot: operating threshold)")
    return _save(fig, path, "lower right")


def plot_pr(scored: Scored, threshold: float, path: Path) -> Path:
    """Precision-recall curve per split with the prevalence baseline and the operating point."""
    fig, ax = plt.subplots(figsize=(5, 5))
    for name, (y, p) in scored.items():
        if not _has_both_classes(y):
            continue
        precision, recall, _ = precision_recall_curve(y, p)
        point = metrics.at_threshold(y, p, threshold)
        ax.plot(recall, precision, label=f"{name} (AP {metrics.pr_auc(y, p):.3f})")
        color = ax.lines[-1].get_color()
        ax.plot(point["recall"], point["precision"], "o", color=color)
        ax.axhline(float(y.mean()), linestyle=":", color=color, linewidth=1)
    ax.set(xlabel="Recall", ylabel="Precision", title="Precision-recall (dotted: prevalence)", xlim=(0, 1), ylim=(0, 1))
    return _save(fig, path, "upper right")


def plot_calibration(scored: Scored, bins: int, path: Path) -> Path:
    """Reliability diagram: observed positive rate against mean predicted probability per bin."""
    fig, ax = plt.subplots(figsize=(5, 5))
    top = 0.0
    for name, (y, p) in scored.items():
        table = metrics.calibration_table(y, p, bins)
        if not table:
            continue
        xs = [row["mean_predicted"] for row in table]
        ys = [row["observed_rate"] for row in table]
        top = max(top, *xs, *ys)
        ece = metrics.expected_calibration_error(y, p, bins)
        ax.plot(xs, ys, "o-", label=f"{name} (ECE {ece:.3f})")
    limit = min(1.0, top * 1.1 + 0.02)
    ax.plot([0, limit], [0, limit], "--", color="grey", linewidth=1)
    ax.set(xlabel="Mean predicted probability", ylabel="Observed readmission rate", title="Calibration")
    ax.set(xlim=(0, limit), ylim=(0, limit))
    return _save(fig, path, "upper left")
