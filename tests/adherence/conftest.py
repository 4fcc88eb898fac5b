"""Fixtures of the adherence tests: a small sample of the shipped data and one pipeline run on it (session-scoped,
a few seconds) that the evaluate, predict and spec tests share."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from pipeline_code.common.contracts import adherence as contract
from tests.adherence.helpers import DATA_FILE, SAMPLE_ROWS, PipelineRun, run_pipeline, write_raw


@pytest.fixture(scope="session")
def raw_sample() -> pd.DataFrame:
    """The first rows of the shipped file, read the contract's way (text, '?' as missing)."""
    return pd.read_csv(DATA_FILE, nrows=SAMPLE_ROWS, **contract.READ_CSV_OPTIONS)


@pytest.fixture
def raw(raw_sample: pd.DataFrame) -> pd.DataFrame:
    """A private copy of the sample that a test may edit."""
    return raw_sample.copy()


@pytest.fixture(scope="session")
def validated_sample(raw_sample: pd.DataFrame) -> pd.DataFrame:
    return contract.validate(raw_sample, source="sample").accepted


@pytest.fixture(scope="session")
def sample_file(tmp_path_factory: pytest.TempPathFactory, raw_sample: pd.DataFrame) -> Path:
    return write_raw(raw_sample, tmp_path_factory.mktemp("data") / "sample.csv")


@pytest.fixture(scope="session")
def pipeline(tmp_path_factory: pytest.TempPathFactory, sample_file: Path) -> PipelineRun:
    """All seven steps run once on the sample."""
    return run_pipeline(tmp_path_factory.mktemp("run"), sample_file)


@pytest.fixture(scope="session")
def model_dir(pipeline: PipelineRun) -> Path:
    return pipeline.contexts["train"].model_dir
