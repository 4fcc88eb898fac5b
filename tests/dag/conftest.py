"""Fixtures for the DAG tests."""

from __future__ import annotations

from pathlib import Path

import pytest

RAW_ROWS = "x,y\n1,2\n2,4.1\n3,6.2\n4,7.9\n5,10\n6,12.1\n7,14\n8,16.3\n"


@pytest.fixture
def raw_csv(tmp_path: Path) -> Path:
    path = tmp_path / "input" / "data.csv"
    path.parent.mkdir(parents=True)
    path.write_text(RAW_ROWS, encoding="utf-8")
    return path
