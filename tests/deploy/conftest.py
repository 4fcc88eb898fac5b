"""Fixtures of the deploy smoke test: a moto server on a free localhost port for the module."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.deploy.harness import MotoServer, start_moto_server


@pytest.fixture(scope="module")
def moto_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoServer]:
    """moto (tests/deploy/patched_moto_server.py, run by the venv's Python), killed at teardown whatever happens."""
    with start_moto_server(tmp_path_factory.mktemp("moto")) as server:
        yield server
