"""Fixtures of the intent tests: one quick pipeline run on a tiny data set (session-scoped)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.intent.helpers import PipelineRun, run_quick, tiny_dataset


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_dataset(tmp_path_factory.mktemp("intent-data"))


@pytest.fixture(scope="session")
def quick_run(tmp_path_factory: pytest.TempPathFactory, tiny_data: Path) -> PipelineRun:
    run = run_quick(tmp_path_factory.mktemp("intent-run") / "run", tiny_data)
    assert run.result.succeeded, run.result.error
    return run


@pytest.fixture(scope="session")
def model_dir(quick_run: PipelineRun) -> Path:
    return quick_run.result.run_dir / "model"
