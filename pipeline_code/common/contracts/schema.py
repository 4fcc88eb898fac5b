"""Building blocks of a data contract: the role and kind of a column and the declaration of one column.

Model contracts (e.g. :mod:`pipeline_code.common.contracts.adherence`) are tables of :class:`Column`; the generic
checker in :mod:`pipeline_code.common.contracts.validation` reads nothing but these declarations.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from functools import cache


class Role(StrEnum):
    """What a column is for."""

    ID = "id"  # identifies a row or a group; never a model feature
    FEATURE = "feature"  # describes the encounter; input to feature engineering
    MEDICATION = "medication"  # one of the 23 diabetes drugs ("brands"); a feature with the status levels
    TARGET = "target"  # the outcome; optional at prediction time


class Kind(StrEnum):
    """How a column's values are checked."""

    INTEGER = "integer"  # whole number within [min_value, max_value]
    CATEGORY = "category"  # one of ``levels`` (closed vocabulary)
    OPEN_CATEGORY = "open_category"  # free text matching ``pattern``; unknown levels fold into "Other" downstream
    CODE = "code"  # a coded value matching ``pattern`` (ICD-9 diagnosis codes)


@dataclass(frozen=True)
class Column:
    """One raw column: name, role, kind, and what values it may hold.

    ``levels`` holds the allowed values of a CATEGORY column (for integer-coded categories such as
    ``admission_type_id`` the codes as text); ``labels`` optionally maps a level to a readable description.
    """

    name: str
    role: Role
    kind: Kind
    description: str
    nullable: bool = False
    levels: tuple[str, ...] = ()
    labels: tuple[tuple[str, str], ...] = ()
    min_value: int | None = None
    max_value: int | None = None
    pattern: str = ""

    def __post_init__(self) -> None:
        if self.kind is Kind.CATEGORY and not self.levels:
            raise ValueError(f"category column {self.name!r} declares no levels")
        if self.kind in (Kind.CODE, Kind.OPEN_CATEGORY) and not self.pattern:
            raise ValueError(f"{self.kind.value} column {self.name!r} declares no pattern")

    @property
    def label_map(self) -> dict[str, str]:
        return dict(self.labels)


@cache
def compiled_pattern(pattern: str) -> re.Pattern[str]:
    """A column's ``pattern`` compiled once."""
    return re.compile(pattern)
