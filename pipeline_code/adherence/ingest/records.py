"""Feature records of the adherence feature table: the Feature Store schema and the row -> record conversion.

The schema is generated from the data contract (id columns, label) and the feature set of the features step (names,
categorical or not); ``tests/adherence/test_ingest.py`` builds the feature table and fails if a column's type or
name drifts from it. Record identifier ``encounter_id``; ``event_time`` is the time the record describes (the run's
start: the data carries no dates).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Final

import pandas as pd

from pipeline_code.common.adherence_features import FEATURES, KEY_COLUMNS
from pipeline_code.common.contracts import adherence as contract

RECORD_IDENTIFIER: Final = contract.ENCOUNTER_ID
EVENT_TIME: Final = "event_time"
# Numeric features that are not whole numbers (or may be missing): every other feature is an integer code or count.
FRACTIONAL_FEATURES: Final = frozenset(
    {"age", "weight", "diag_1_code", "diag_2_code", "diag_3_code", "prev_gap", "prev_prev_gap"}
)


class FeatureType(StrEnum):
    """Feature Store's three feature types."""

    INTEGRAL = "Integral"
    FRACTIONAL = "Fractional"
    STRING = "String"


@dataclass(frozen=True)
class FeatureDefinition:
    name: str
    feature_type: FeatureType

    def to_dict(self) -> dict[str, str]:
        return {"FeatureName": self.name, "FeatureType": self.feature_type.value}


def feature_definitions() -> tuple[FeatureDefinition, ...]:
    """Every column of the feature table, in table order, then the event time."""
    columns = [FeatureDefinition(name, FeatureType.INTEGRAL) for name in KEY_COLUMNS]
    columns.append(FeatureDefinition(contract.LABEL_COLUMN, FeatureType.INTEGRAL))
    for feature in FEATURES:
        fractional = feature.name in FRACTIONAL_FEATURES and not feature.categorical
        columns.append(FeatureDefinition(feature.name, FeatureType.FRACTIONAL if fractional else FeatureType.INTEGRAL))
    columns.append(FeatureDefinition(EVENT_TIME, FeatureType.STRING))
    return tuple(columns)


def normalise_event_time(value: str) -> str:
    """``value`` (ISO 8601, any offset) as Feature Store's ``yyyy-MM-ddTHH:mm:ssZ`` in UTC; ValueError if unreadable."""
    text = value.strip()
    if not text:
        raise ValueError("event time is empty")
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    utc = parsed.astimezone(UTC)
    if not 1970 <= utc.year <= 9999:
        raise ValueError(f"{value!r} is outside the years 1970-9999 an event time may have")
    return utc.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class Rejected:
    """A row that cannot become a record: its position in the table, its id as read, and why."""

    row: int
    record_id: str
    reason: str


@dataclass(frozen=True)
class Conversion:
    records: tuple[dict[str, Any], ...]
    rejected: tuple[Rejected, ...]


def _value(value: Any, feature_type: FeatureType) -> str | None:
    """The record value of one cell as a string; None for a missing value (the feature is left out of the record)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if feature_type is FeatureType.INTEGRAL:
        number = float(value)
        if not number.is_integer():
            raise ValueError(f"{value!r} is not a whole number")
        return str(int(number))
    if feature_type is FeatureType.FRACTIONAL:
        number = float(value)
        if not math.isfinite(number):
            raise ValueError(f"{value!r} is not finite")
        return repr(number)
    return str(value)


def to_records(table: pd.DataFrame, *, event_time: str) -> Conversion:
    """One record per row (as ``{feature: string}``), or a rejection with its reason; rows in = records + rejected.

    A missing id, a duplicated id (the later rows: a record id must be unique within a batch, or the last write would
    silently win), a value of the wrong type, or a missing column of the schema rejects the row.
    """
    definitions = [d for d in feature_definitions() if d.name != EVENT_TIME]
    missing = [d.name for d in definitions if d.name not in table.columns]
    if missing:
        raise KeyError(f"feature table lacks schema column(s) {', '.join(missing[:10])}")
    records: list[dict[str, Any]] = []
    rejected: list[Rejected] = []
    seen: set[str] = set()
    for position, row in enumerate(table[[d.name for d in definitions]].itertuples(index=False, name=None)):
        raw_id = row[0]
        record: dict[str, Any] = {}
        try:
            record_id = _value(raw_id, FeatureType.INTEGRAL)
            if record_id is None:
                raise ValueError("the record identifier is missing")
            if record_id in seen:
                raise ValueError(f"duplicate {RECORD_IDENTIFIER} {record_id} in this batch")
            for definition, value in zip(definitions, row, strict=True):
                try:
                    text = _value(value, definition.feature_type)
                except (TypeError, ValueError) as exc:
                    raise ValueError(f"{definition.name}: {exc}") from None
                if text is not None:
                    record[definition.name] = text
        except (TypeError, ValueError) as exc:
            rejected.append(Rejected(position, str(raw_id), str(exc)))
            continue
        seen.add(record_id)
        record[EVENT_TIME] = event_time
        records.append(record)
    return Conversion(tuple(records), tuple(rejected))


def as_put_record(record: dict[str, Any]) -> list[dict[str, str]]:
    """A record in PutRecord's shape: ``[{"FeatureName": ..., "ValueAsString": ...}]``."""
    return [{"FeatureName": name, "ValueAsString": value} for name, value in record.items()]


def batches(items: tuple[dict[str, Any], ...], size: int) -> Iterator[tuple[dict[str, Any], ...]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
