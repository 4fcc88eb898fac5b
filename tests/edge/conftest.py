"""Fixtures of the edge tests: a small intent model folder from one quick pipeline run (no training beyond it)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from pipeline_code.edge.handler import Handler, Limits
from pipeline_code.edge.metrics import Metrics
from pipeline_code.edge.model import ModelSlot
from tests.intent.helpers import run_quick, tiny_dataset


@pytest.fixture(scope="session")
def edge_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = tiny_dataset(tmp_path_factory.mktemp("edge-data"))
    run = run_quick(tmp_path_factory.mktemp("edge-run") / "run", data)
    assert run.result.succeeded, run.result.error
    return run.result.run_dir / "model"


@pytest.fixture
def model_copy(edge_model: Path, tmp_path: Path) -> Path:
    """A private copy of the model folder that a test may alter."""
    return Path(shutil.copytree(edge_model, tmp_path / "model"))


@pytest.fixture(scope="module")
def slot(edge_model: Path) -> ModelSlot:
    slot = ModelSlot()
    assert slot.swap(edge_model).swapped
    return slot


@pytest.fixture
def handler(slot: ModelSlot) -> Handler:
    return Handler(slot, Metrics(), Limits(max_text_chars=200, max_batch=4))
