"""The self-contained model folder of a LightGBM classifier: save it after training, load it to predict.

A bundle is a folder with ``model.txt`` (LightGBM's portable text format) and ``model_meta.json`` (feature order,
categorical features and their levels, the operating threshold, training facts). It is everything batch prediction
needs beside the code, so the folder can be copied, registered or tarred as a SageMaker model artefact as it is; a
``model.tar.gz`` in place of the folder (what a training job uploads) is unpacked on load.
"""

from __future__ import annotations

import math
import tarfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pipeline_code.common.openmp  # noqa: F401  (must precede lightgbm: passive OpenMP waiting)

# isort: split
import lightgbm as lgb
import numpy as np
import pandas as pd

from pipeline_code.common.context import StepError
from pipeline_code.common.io import read_json, write_json

MODEL_FILE = "model.txt"
META_FILE = "model_meta.json"
ARCHIVE_FILE = "model.tar.gz"
BUNDLE_FORMAT = "lightgbm-bundle/1"


@dataclass(frozen=True)
class ModelBundle:
    """A loaded model folder: the booster and what it needs to be fed correctly."""

    booster: lgb.Booster
    features: tuple[str, ...]
    categorical: tuple[str, ...]
    threshold: float
    meta: Mapping[str, Any] = field(default_factory=dict)
    path: Path | None = None

    def matrix(self, table: pd.DataFrame) -> np.ndarray:
        """The model's input matrix from a feature table, columns in training order; a StepError naming any missing."""
        missing = [name for name in self.features if name not in table.columns]
        if missing:
            raise StepError(f"model at {self.path}: feature table lacks {len(missing)} feature(s): {missing[:10]}")
        return table[list(self.features)].to_numpy(dtype=np.float64)

    def predict_proba(self, table: pd.DataFrame | np.ndarray) -> np.ndarray:
        """Probability of the positive class for each row."""
        matrix = table if isinstance(table, np.ndarray) else self.matrix(table)
        if not len(matrix):
            return np.zeros(0)
        return np.asarray(self.booster.predict(matrix), dtype=np.float64)

    def contributions(self, table: pd.DataFrame | np.ndarray) -> np.ndarray:
        """TreeSHAP contributions in log-odds, shape (rows, features + 1); the last column is the bias."""
        matrix = table if isinstance(table, np.ndarray) else self.matrix(table)
        if not len(matrix):
            return np.zeros((0, len(self.features) + 1))
        return np.asarray(self.booster.predict(matrix, pred_contrib=True), dtype=np.float64)


def save_bundle(
    directory: Path,
    booster: lgb.Booster,
    *,
    features: Sequence[str],
    categorical: Sequence[str],
    threshold: float,
    meta: Mapping[str, Any],
) -> Path:
    """Write the model folder; the booster is saved at its best iteration so the folder holds only trees in use."""
    if not math.isfinite(threshold) or not 0.0 <= threshold <= 1.0:
        raise ValueError(f"operating threshold must be a probability, not {threshold}")
    directory.mkdir(parents=True, exist_ok=True)
    booster.save_model(str(directory / MODEL_FILE), num_iteration=booster.best_iteration or None)
    write_json(
        {
            **meta,
            "format": BUNDLE_FORMAT,
            "model_file": MODEL_FILE,
            "features": list(features),
            "categorical_features": list(categorical),
            "threshold": float(threshold),
            "lightgbm_version": lgb.__version__,
        },
        directory / META_FILE,
    )
    return directory


def _unpack_archive(directory: Path) -> Path:
    """A training job uploads model.tar.gz; unpack it next to itself (once) and use the folder inside."""
    archive = directory / ARCHIVE_FILE
    target = directory / "unpacked"
    if not (target / META_FILE).is_file():
        try:
            with tarfile.open(archive) as tar:
                tar.extractall(target, filter="data")
        except (tarfile.TarError, OSError, EOFError) as exc:
            raise StepError(f"model archive {archive} cannot be unpacked: {exc}") from exc
    return target


def load_bundle(directory: Path, *, what: str = "model") -> ModelBundle:
    """Load a model folder written by :func:`save_bundle`; a StepError naming the folder and the broken part."""
    directory = Path(directory)
    if not directory.is_dir():
        raise StepError(f"{what}: model folder {directory} does not exist")
    if not (directory / META_FILE).is_file() and (directory / ARCHIVE_FILE).is_file():
        directory = _unpack_archive(directory)
    meta = read_json(directory / META_FILE, what=f"{what}: model metadata")
    if not isinstance(meta, dict) or meta.get("format") != BUNDLE_FORMAT:
        raise StepError(f"{what}: {directory / META_FILE} is not {BUNDLE_FORMAT} metadata")
    for key in ("features", "categorical_features", "threshold"):
        if key not in meta:
            raise StepError(f"{what}: {directory / META_FILE} has no {key!r}")
    model_file = directory / str(meta.get("model_file", MODEL_FILE))
    if not model_file.is_file():
        raise StepError(f"{what}: model file {model_file} does not exist")
    try:
        booster = lgb.Booster(model_file=str(model_file))
    except lgb.basic.LightGBMError as exc:
        raise StepError(f"{what}: {model_file} is not a readable LightGBM model: {exc}") from exc
    features = tuple(meta["features"])
    if booster.num_feature() != len(features) or tuple(booster.feature_name()) != features:
        raise StepError(
            f"{what}: {model_file} has {booster.num_feature()} features but {META_FILE} lists {len(features)}; "
            "the folder mixes files of different models"
        )
    threshold = float(meta["threshold"])
    if not 0.0 <= threshold <= 1.0:
        raise StepError(f"{what}: threshold {threshold} in {directory / META_FILE} is not a probability")
    return ModelBundle(
        booster=booster,
        features=features,
        categorical=tuple(meta["categorical_features"]),
        threshold=threshold,
        meta=meta,
        path=directory,
    )
