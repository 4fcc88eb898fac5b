"""Shared test set-up: the repository root on sys.path, the jsii Node warning silenced, the one synth."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from hypothesis import settings

# Every Hypothesis failure prints its @reproduce_failure blob, and no property fails for being slow on a busy machine
# (timing is what benchmarks measure). scripts/run_pytest.sh draws a fresh --hypothesis-seed per run and prints it.
settings.register_profile("project", print_blob=True, deadline=None)
settings.load_profile("project")

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")


@pytest.fixture(scope="session")
def synthesized(tmp_path_factory: pytest.TempPathFactory):
    """Every stage synthesized once per session (with the cdk-nag packs); see ``tests/synth.py``."""
    from tests.synth import synth_all  # imported here: tests that never synthesize do not start jsii

    synthesized = synth_all(tmp_path_factory.mktemp("cdk.out"), independent_outdir=tmp_path_factory.mktemp("cdk.app"))
    synthesized.start_cfn_lint()
    yield synthesized
    synthesized.stop_background()  # a filtered run may never have waited for them


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under pytest-xdist (``--dist loadgroup``) every test of the shared synth runs on one worker, so the app is
    synthesized once per run, not once per worker; other tests spread over the workers."""
    for item in items:
        if "synthesized" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.xdist_group("synth"))
