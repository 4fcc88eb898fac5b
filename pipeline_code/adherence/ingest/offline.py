"""The local offline store: Parquet files laid out like the Feature Store's S3 offline store.

S3: ``<prefix>/<account>/sagemaker/<region>/offline-store/<feature group>/data/year=YYYY/month=MM/day=DD/hour=HH/
<file>.parquet``. Locally the part from ``<feature group>`` on is the same, under the step's ``offline_store`` output,
with the offline store's extra columns (``write_time``, ``api_invocation_time``, ``is_deleted``). The file name is the
hash of its content, so writing the same records twice leaves one file: the local write is idempotent.
"""

from __future__ import annotations

import hashlib
import os
import warnings
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd

from pipeline_code.adherence.ingest.records import EVENT_TIME, FeatureDefinition, FeatureType


def _fastparquet() -> Any:
    """fastparquet, imported on first use; its import-time probe of a pandas option warns on pandas 3 (harmless)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import fastparquet
    return fastparquet


def partition(root: Path, feature_group: str, event_time: str) -> Path:
    moment = datetime.strptime(event_time, "%Y-%m-%dT%H:%M:%SZ")
    return (
        root
        / feature_group
        / "data"
        / f"year={moment:%Y}"
        / f"month={moment:%m}"
        / f"day={moment:%d}"
        / f"hour={moment:%H}"
    )


def records_frame(records: tuple[dict[str, Any], ...], definitions: tuple[FeatureDefinition, ...]) -> pd.DataFrame:
    """Records back to typed columns (nullable integers, floats, strings) plus the offline store's own columns."""
    columns: dict[str, Any] = {}
    for definition in definitions:
        values = [record.get(definition.name) for record in records]
        if definition.feature_type is FeatureType.INTEGRAL:
            columns[definition.name] = pd.array([None if v is None else int(v) for v in values], dtype="Int64")
        elif definition.feature_type is FeatureType.FRACTIONAL:
            columns[definition.name] = pd.array([None if v is None else float(v) for v in values], dtype="Float64")
        else:
            columns[definition.name] = pd.array(values, dtype="object")
    frame = pd.DataFrame(columns)
    frame["write_time"] = frame[EVENT_TIME]
    frame["api_invocation_time"] = frame[EVENT_TIME]
    frame["is_deleted"] = False
    return frame


def write_offline_store(
    root: Path,
    feature_group: str,
    records: tuple[dict[str, Any], ...],
    definitions: tuple[FeatureDefinition, ...],
    *,
    event_time: str,
) -> Path | None:
    """Write ``records`` (one event time) to one Parquet file; its path, or None when there is nothing to write."""
    if not records:
        return None
    fastparquet = _fastparquet()

    folder = partition(root, feature_group, event_time)
    folder.mkdir(parents=True, exist_ok=True)
    frame = records_frame(records, definitions)
    tmp = folder / ".writing.parquet"
    fastparquet.write(str(tmp), frame, compression="SNAPPY", write_index=False, stats=False)
    digest = hashlib.sha256(tmp.read_bytes()).hexdigest()[:32]
    target = folder / f"{digest}.parquet"
    os.replace(tmp, target)
    return target


def read_offline_store(root: Path, feature_group: str) -> pd.DataFrame:
    """Every record of the local offline store of ``feature_group`` (all partitions)."""
    fastparquet = _fastparquet()

    files = sorted((root / feature_group / "data").rglob("*.parquet"))
    if not files:
        return pd.DataFrame()
    return pd.concat([fastparquet.ParquetFile(str(path)).to_pandas() for path in files], ignore_index=True)
