"""Shared test set-up: the repository root on sys.path, the jsii Node warning silenced, the one synth."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")


@pytest.fixture(scope="session")
def synthesized(tmp_path_factory: pytest.TempPathFactory):
    """Every stage synthesized once per session (with the cdk-nag packs); see ``tests/synth.py``."""
    from tests.synth import synth_all  # imported here: tests that never synthesize do not start jsii

    return synth_all(tmp_path_factory.mktemp("cdk.out"))
