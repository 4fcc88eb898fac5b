"""The hand renderer against the SageMaker Python SDK 2.257: the same plan, rendered both ways, step by step, for
the adherence and the intent pipeline (its own image, CSV files as parameters, a processing output as the model).

The SDK pins packaging<25, rich<15 and attrs<26, which the platform's runtime does not accept, so it lives in its own
virtual environment (``.venv-sdk``, from ``requirements-sdk-parity.txt``, built once by the fixture below with the
project's pinned uv). ``tests/dag/sdk_render.py`` builds the pipeline there with Processor / Estimator /
ProcessingStep / TrainingStep / ConditionStep / FailStep / RegisterModel, telemetry opted out and every socket
connection refused and recorded.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from pipeline_code.adherence.specs import DEFINITION as ADHERENCE
from pipeline_code.dag import assemble
from pipeline_code.dag.sagemaker import render_definition, walk_steps
from pipeline_code.intent.specs import DEFINITION as INTENT
from scripts.setup_env import pip_settings, uv_environment
from tests.dag.sagemaker_helpers import PLAIN_INTENT_TARGET, PLAIN_TARGET

ROOT = Path(__file__).resolve().parents[2]
REQUIREMENTS = ROOT / "requirements-sdk-parity.txt"
VENV = ROOT / ".venv-sdk"
SCRIPT = ROOT / "tests" / "dag" / "sdk_render.py"
# What the SDK adds that the hand renderer leaves out, each with the exact value the SDK writes (anything else fails):
# empty bias / explainability reports, and SkipModelValidation as the string "None" (the SDK's default, meaning
# "no validation was requested"; the service's default is the same).
SDK_ONLY = {
    "Arguments.ModelMetrics.Bias": {},
    "Arguments.ModelMetrics.Explainability": {},
    "Arguments.SkipModelValidation": "None",
}
# A model registered through the SDK's ModelStep (the intent pipeline: the model is a processing output, so there
# is no estimator for RegisterModel) also names an empty environment in its container.
SDK_ONLY_CONTAINER = {"Environment": {}}
PIPELINES = {"adherence": (ADHERENCE, PLAIN_TARGET), "intent": (INTENT, PLAIN_INTENT_TARGET)}


def _uv() -> Path | None:
    found = sorted(ROOT.glob(".tools/uv-*/bin/uv"))
    if found:
        return found[-1]
    on_path = shutil.which("uv")
    return Path(on_path) if on_path else None


# Under pytest-xdist these tests share one worker; the file lock below also keeps concurrent sessions (two
# worktrees' test runs never share a checkout, but two pytest runs in one may) from building the venv at once.
pytestmark = pytest.mark.xdist_group("sdk-parity")


@pytest.fixture(scope="session")
def sdk_python() -> Path:
    """``.venv-sdk/bin/python`` with the pinned SDK, (re)built when requirements-sdk-parity.txt changes."""
    with (ROOT / ".venv-sdk.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            return _build_sdk_venv()
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _build_sdk_venv() -> Path:
    python = VENV / "bin" / "python"
    stamp = VENV / f".installed-{hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()[:16]}"
    if stamp.is_file() and python.is_file():
        return python
    uv = _uv()
    if uv is None:
        pytest.skip("no uv to build .venv-sdk (run `make setup` first, it bootstraps the pinned uv)")
    shutil.rmtree(VENV, ignore_errors=True)
    commands = [
        [str(uv), "venv", "--quiet", "--python", sys.executable, str(VENV)],
        [str(uv), "pip", "install", "--quiet", "--python", str(python), "--no-deps", "-r", str(REQUIREMENTS)],
    ]
    env = uv_environment(pip_settings(sys.executable))  # the same package sources as make setup
    for command in commands:
        done = subprocess.run(command, capture_output=True, text=True, timeout=600, env=env)
        if done.returncode != 0:
            pytest.skip(f"cannot build .venv-sdk (package index unreachable?): {done.stderr.strip()[-500:]}")
    stamp.touch()
    return python


@pytest.fixture(scope="module", params=sorted(PIPELINES))
def pipeline(request) -> str:
    return request.param


@pytest.fixture(scope="module")
def sdk_render(sdk_python: Path, pipeline: str) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "200"}
    done = subprocess.run(
        [str(sdk_python), str(SCRIPT), pipeline], capture_output=True, text=True, env=env, timeout=300, cwd=ROOT
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    last = done.stdout.strip().splitlines()[-1]  # the SDK logs a config line before
    return json.loads(last)


@pytest.fixture(scope="module")
def ours(pipeline: str) -> dict[str, Any]:
    definition, target = PIPELINES[pipeline]
    return render_definition(assemble(definition), target)


def _strip_sdk_only(step: dict[str, Any]) -> dict[str, Any]:
    step = json.loads(json.dumps(step))
    for dotted, value in SDK_ONLY.items():
        *parents, leaf = dotted.split(".")
        node = step
        for key in parents:
            node = node.get(key, {})
        if leaf in node:
            assert node[leaf] == value, f"{step['Name']}: {dotted} = {node[leaf]!r}, not the known SDK default"
            del node[leaf]
    if step.get("Type") == "RegisterModel":
        for container in step["Arguments"]["InferenceSpecification"]["Containers"]:
            for key, value in SDK_ONLY_CONTAINER.items():
                if key in container:
                    assert container[key] == value, f"{step['Name']}: container {key} = {container[key]!r}"
                    del container[key]
    return step


def test_the_sdk_made_no_network_call(sdk_render) -> None:
    assert sdk_render["connect_attempts"] == []


def test_same_version_parameters_and_experiment_config(sdk_render, ours) -> None:
    sdk = sdk_render["definition"]
    assert sdk.keys() == ours.keys()
    for key in ("Version", "Metadata", "Parameters", "PipelineExperimentConfig"):
        assert sdk[key] == ours[key], key


def test_same_steps_in_the_same_order(sdk_render, ours) -> None:
    sdk_steps = [(s["Name"], s["Type"]) for s in walk_steps(sdk_render["definition"])]
    assert sdk_steps == [(s["Name"], s["Type"]) for s in walk_steps(ours)]


def test_every_step_is_identical_to_the_sdk_rendering(sdk_render, ours) -> None:
    """Step by step, every key and value, nested condition branches included."""
    sdk_steps = {s["Name"]: s for s in walk_steps(sdk_render["definition"])}
    for step in walk_steps(ours):
        expected = _strip_sdk_only(sdk_steps[step["Name"]])
        if step["Type"] == "Condition":  # branches are compared as steps of their own
            for branch in ("IfSteps", "ElseSteps"):
                expected["Arguments"][branch] = [s["Name"] for s in expected["Arguments"][branch]]
            step = {**step, "Arguments": {**step["Arguments"]}}
            for branch in ("IfSteps", "ElseSteps"):
                step["Arguments"][branch] = [s["Name"] for s in step["Arguments"][branch]]
        assert step == expected, step["Name"]
