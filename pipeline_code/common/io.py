"""File helpers shared by steps: find the one data file in an input folder, read and write tables and JSON.

Every failure is a :class:`StepError` that names the file and what is wrong with it, because a step's error message
is all an operator sees of a failed SageMaker job.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from pipeline_code.common.context import StepError

TABLE_SUFFIXES = (".csv", ".csv.gz")


def _is_table(path: Path, suffixes: Sequence[str]) -> bool:
    return path.is_file() and not path.name.startswith(".") and path.name.lower().endswith(tuple(suffixes))


def find_single_file(location: Path, *, what: str, suffixes: Sequence[str] = TABLE_SUFFIXES) -> Path:
    """The one file ending in ``suffixes`` at ``location`` (a file, or a folder searched recursively).

    SageMaker mounts an S3 prefix as a folder whose file name we do not control, so a step looks for "the" data
    file rather than a fixed name; zero or several candidates is an error, never a guess.
    """
    if location.is_file():
        if _is_table(location, suffixes):
            return location
        raise StepError(f"{what}: {location} is not a {' or '.join(suffixes)} file")
    if not location.is_dir():
        raise StepError(f"{what}: {location} does not exist")
    found = sorted(p for p in location.rglob("*") if _is_table(p, suffixes))
    if not found:
        raise StepError(f"{what}: no {' or '.join(suffixes)} file in {location}")
    if len(found) > 1:
        names = ", ".join(str(p.relative_to(location)) for p in found[:10])
        raise StepError(f"{what}: expected one {' or '.join(suffixes)} file in {location}, found {len(found)}: {names}")
    return found[0]


def read_csv(path: Path, *, what: str, **options: Any) -> pd.DataFrame:
    """``pandas.read_csv`` with errors that name the file: missing, empty, or not parseable as CSV."""
    if not path.is_file():
        raise StepError(f"{what}: file {path} does not exist")
    try:
        frame = pd.read_csv(path, **options)
    except pd.errors.EmptyDataError as exc:
        raise StepError(f"{what}: file {path} is empty (no header row)") from exc
    except (pd.errors.ParserError, UnicodeDecodeError, EOFError, OSError, ValueError) as exc:
        raise StepError(f"{what}: cannot read {path} as CSV: {exc}") from exc
    frame.columns = [str(c).strip() for c in frame.columns]
    return frame


def write_csv(frame: pd.DataFrame, path: Path, *, na_rep: str = "") -> Path:
    """Write ``frame`` without its index, creating the folder; returns the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=False, na_rep=na_rep, lineterminator="\n")
    return path


def _jsonable(value: Any) -> Any:
    """Plain JSON types: numpy scalars to Python, NaN/inf to None (strict JSON has neither)."""
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, str | bytes):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def write_json(payload: Any, path: Path) -> Path:
    """Write strict JSON (NaN becomes null), indented and key-sorted so that reruns diff cleanly."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(_jsonable(payload), indent=2, sort_keys=True, allow_nan=False) + "\n", encoding="utf-8")
    return path


def read_json(path: Path, *, what: str) -> Any:
    """Parse a JSON file; a StepError naming the file if it is missing or not JSON."""
    if not path.is_file():
        raise StepError(f"{what}: file {path} does not exist")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise StepError(f"{what}: {path} is not valid JSON: {exc}") from exc


def sha256_of(path: Path) -> str:
    """Hex sha256 of a file, for lineage in reports."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
