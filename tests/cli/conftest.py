"""Fixtures for the CLI tests: a temporary project root holding shipped toy data."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.dag.conftest import RAW_ROWS


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project root with shipped toy data, as the repository holds data/ for the real pipelines."""
    root = tmp_path / "project"
    (root / "data").mkdir(parents=True)
    (root / "data" / "toy.csv").write_text(RAW_ROWS, encoding="utf-8")
    return root
