"""Check a raw table against a data contract, row by row, without losing a row.

Every input row ends up in exactly one of two tables: ``accepted`` (typed, contract columns in contract order) or
``rejected`` (the raw values as read, plus a ``reject_reason`` naming each broken column and what is wrong). A missing
*column* is not a row problem but a file problem, so it raises instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pipeline_code.common.context import StepError
from pipeline_code.common.contracts.schema import Column, Kind, compiled_pattern

REJECT_REASON = "reject_reason"


class ContractError(StepError):
    """A whole file breaks the contract (e.g. a required column is missing); no row can be judged."""


@dataclass(frozen=True)
class ValidationResult:
    """Outcome of :func:`validate_frame`: the two tables and counts that reconcile with the input."""

    accepted: pd.DataFrame
    rejected: pd.DataFrame
    rows_in: int
    rejects_by_column: dict[str, int] = field(default_factory=dict)
    missing_by_column: dict[str, int] = field(default_factory=dict)
    extra_columns: tuple[str, ...] = ()

    @property
    def rows_accepted(self) -> int:
        return len(self.accepted)

    @property
    def rows_rejected(self) -> int:
        return len(self.rejected)

    def write_rejects(self, path: Path, *, missing_token: str) -> Path:
        """The rejected rows as read (missing written as ``missing_token``, like the input) plus ``reject_reason``."""
        columns = [*(c for c in self.rejected.columns if c != REJECT_REASON), REJECT_REASON]
        path.parent.mkdir(parents=True, exist_ok=True)
        self.rejected.reindex(columns=columns).to_csv(path, index=False, na_rep=missing_token, lineterminator="\n")
        return path

    def summary(self) -> dict[str, Any]:
        """Counts and examples as plain data, for reports and run metrics."""
        return {
            "rows_in": self.rows_in,
            "rows_accepted": self.rows_accepted,
            "rows_rejected": self.rows_rejected,
            "reconciled": self.rows_in == self.rows_accepted + self.rows_rejected,
            "rejects_by_column": dict(sorted(self.rejects_by_column.items())),
            "missing_by_column": dict(sorted(self.missing_by_column.items())),
            "extra_columns": list(self.extra_columns),
            "reject_examples": self.rejected[REJECT_REASON].head(5).tolist() if self.rows_rejected else [],
        }


def check_columns(frame: pd.DataFrame, required: Sequence[str], *, source: str) -> None:
    """Raise a ContractError naming every required column the table lacks, and the file it came from."""
    missing = [name for name in required if name not in frame.columns]
    if missing:
        raise ContractError(
            f"{source}: missing required column(s) {', '.join(repr(m) for m in missing)} "
            f"({len(frame.columns)} columns present)"
        )


def _as_numbers(text: pd.Series) -> pd.Series:
    """Parse integer text; the fast C cast first, the forgiving (slow) parser only if some value is not clean."""
    try:
        return text.astype("int64")
    except (TypeError, ValueError, OverflowError):
        return pd.to_numeric(text, errors="coerce")


def _column_problems(values: pd.Series, col: Column) -> tuple[pd.Series, pd.Series, pd.Series | None]:
    """Why values of one column break the contract (reasons indexed like the bad rows), the missing mask, and for
    integer columns the parsed numbers of the present values."""
    missing = values.isna()
    reasons: list[pd.Series] = []
    if not col.nullable and missing.any():
        reasons.append(pd.Series(f"{col.name}: missing value", index=values.index[missing.to_numpy()]))
    text = values[~missing].astype(str)
    numbers = None
    if col.kind is Kind.INTEGER:
        numbers = _as_numbers(text)
        not_int = numbers.isna() | (numbers != np.floor(numbers))
        if not_int.any():
            reasons.append(f"{col.name}: not an integer (" + text[not_int].map(repr) + ")")
        out = ~not_int & ~numbers.between(col.min_value, col.max_value)
        if out.any():
            reasons.append(f"{col.name}: " + text[out] + f" outside [{col.min_value}, {col.max_value}]")
    elif col.kind is Kind.CATEGORY:
        unknown = ~text.isin(col.levels)
        if unknown.any():
            reasons.append(f"{col.name}: unknown level (" + text[unknown].map(repr) + ")")
    else:  # CODE and OPEN_CATEGORY: a format, not a list; match each distinct value once
        pattern = compiled_pattern(col.pattern)
        distinct = text.unique()
        good = {value for value in distinct if pattern.fullmatch(value)}
        bad = ~text.isin(good) if len(good) < len(distinct) else pd.Series(False, index=text.index)
        if bad.any():
            what = "code" if col.kind is Kind.CODE else "value"
            reasons.append(f"{col.name}: malformed {what} (" + text[bad].map(repr) + ")")
    combined = pd.concat(reasons) if reasons else pd.Series([], dtype=object)
    return combined, missing, numbers


def _typed(
    raw: pd.DataFrame, keep: np.ndarray, columns: Sequence[Column], numbers: dict[str, pd.Series]
) -> pd.DataFrame:
    """Accepted rows with contract dtypes: integers as int64, the rest as text (object) with NaN for missing."""
    out = {}
    for col in columns:
        if col.kind is Kind.INTEGER:
            # Accepted rows have a present, integral value here, so the parsed numbers cover them all.
            out[col.name] = numbers[col.name].reindex(raw.index[keep]).astype("int64").to_numpy()
        else:
            out[col.name] = raw[col.name].to_numpy(dtype=object)[keep]
    return pd.DataFrame(out)


def validate_frame(
    raw: pd.DataFrame,
    columns: Sequence[Column],
    *,
    source: str,
    unique: Sequence[str] = (),
    optional: Sequence[str] = (),
) -> ValidationResult:
    """Split ``raw`` (all values as text, missing as NaN: read it with the contract's CSV options) into
    contract-conforming and rejected rows.

    ``unique`` columns must not repeat: the first occurrence is kept, later ones are rejected. ``optional`` columns
    may be absent from the file (e.g. the target at prediction time); when present they are checked like the rest.
    """
    check_columns(raw, [c.name for c in columns if c.name not in optional], source=source)
    raw = raw.reset_index(drop=True)
    present = [c for c in columns if c.name in raw.columns]
    parts: list[pd.Series] = []
    rejects_by_column: dict[str, int] = {}
    missing_by_column: dict[str, int] = {}
    numbers: dict[str, pd.Series] = {}
    for col in present:
        problems, missing, parsed = _column_problems(raw[col.name], col)
        if parsed is not None:
            numbers[col.name] = parsed
        if col.nullable:
            missing_by_column[col.name] = int(missing.sum())
        if len(problems):
            parts.append(problems)
            rejects_by_column[col.name] = int(problems.index.nunique())
    for name in unique:
        if name in raw.columns:
            values = raw[name]
            dup = values.notna() & values.duplicated(keep="first")
            if dup.any():
                parts.append(f"{name}: duplicate of an earlier row (" + values[dup].astype(str) + ")")
                rejects_by_column[name] = rejects_by_column.get(name, 0) + int(dup.sum())
    # One reason per row, columns in contract order, so the file reads like the contract.
    reasons = pd.concat(parts).groupby(level=0, sort=True).agg("; ".join) if parts else pd.Series([], dtype=object)
    bad = raw.index.isin(reasons.index)
    rejected = raw.loc[bad].copy()
    rejected[REJECT_REASON] = reasons.reindex(rejected.index)
    accepted = _typed(raw, ~bad, present, numbers)
    extra = tuple(c for c in raw.columns if c not in {col.name for col in columns})
    return ValidationResult(
        accepted=accepted,
        rejected=rejected.reset_index(drop=True),
        rows_in=len(raw),
        rejects_by_column=rejects_by_column,
        missing_by_column=missing_by_column,
        extra_columns=extra,
    )
