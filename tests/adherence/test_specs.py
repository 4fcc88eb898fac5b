"""The pipeline definition: wiring that resolves, entry points that exist, parameters that match, code assets that
import only what they may."""

from __future__ import annotations

import ast
import importlib
import inspect
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from pipeline_code.adherence.specs import DEFINITION
from pipeline_code.dag.spec import TRAINING_MODEL_PATH, DependencyType, JobType, NodeType, processing_output_path
from tests.adherence.helpers import ROOT

SPECS = {spec.step_type: spec for spec in DEFINITION.specs}
STEP_FOLDERS = ("validate", "features", "ingest", "split", "train", "evaluate", "predict", "baseline")


def test_the_eight_step_types() -> None:
    assert set(SPECS) == {f"Adherence{s.capitalize()}" for s in STEP_FOLDERS}
    assert SPECS["AdherenceTrain"].job_type is JobType.TRAINING
    assert all(s.job_type is JobType.PROCESSING for t, s in SPECS.items() if t != "AdherenceTrain")


def test_every_dependency_has_exactly_one_matching_output() -> None:
    for spec in DEFINITION.specs:
        for dep in spec.dependencies:
            if dep.dependency_type is DependencyType.RAW_DATA:
                assert spec.node_type is NodeType.SOURCE and dep.logical_name in DEFINITION.external_inputs
                continue
            matches = [
                (source, out.logical_name)
                for source in dep.compatible_sources
                for out in SPECS[source].outputs
                if out.output_type is dep.dependency_type and out.logical_name == dep.logical_name
            ]
            assert len(matches) == 1, (spec.step_type, dep.logical_name, matches)


def test_property_paths_follow_the_job_type() -> None:
    for spec in DEFINITION.specs:
        for out in spec.outputs:
            expected = (
                TRAINING_MODEL_PATH if spec.job_type is JobType.TRAINING else processing_output_path(out.logical_name)
            )
            assert out.property_path == expected


def test_entry_points_expose_run() -> None:
    for spec in DEFINITION.specs:
        module = importlib.import_module(spec.entry_point)
        assert list(inspect.signature(module.run).parameters) == ["ctx"]


def test_published_artefacts_name_real_outputs() -> None:
    for name, artefact in DEFINITION.publish.items():
        assert artefact.output in {o.logical_name for o in SPECS[artefact.step_type].outputs}, name
    required = {"metrics.json", "splits.csv", "test_predictions.csv", "model", "rejects.csv", "quality_gate.json",
                "baseline", "bias_report.json"}  # fmt: skip
    assert required <= set(DEFINITION.publish)


def test_published_files_exist_after_a_run(pipeline) -> None:
    keys = {"AdherenceValidate": "validate", "AdherenceSplit": "split", "AdherenceTrain": "train",
            "AdherenceEvaluate": "evaluate", "AdherencePredict": "predict", "AdherenceIngest": "ingest",
            "AdherenceBaseline": "baseline"}  # fmt: skip
    for name, artefact in DEFINITION.publish.items():
        ctx = pipeline.contexts[keys[artefact.step_type]]
        folder = ctx.model_dir if artefact.output == "model" else ctx.output_dir(artefact.output)
        assert (folder / artefact.path).exists(), name


def test_batch_predict_resolves_to_the_documented_signature() -> None:
    module, _, function = DEFINITION.batch_predict.partition(":")
    fn = getattr(importlib.import_module(module), function)
    assert list(inspect.signature(fn).parameters)[:3] == ["model_dir", "input_path", "output_path"]


def test_config_overrides_name_declared_parameters_only() -> None:
    config = yaml.safe_load((ROOT / "config" / "pipelines" / "adherence.yaml").read_text())
    assert set(config) <= set(SPECS)
    for step, overrides in config.items():
        unknown = set(overrides or {}) - set(SPECS[step].parameters)
        assert not unknown, (step, unknown)
        for name, value in (overrides or {}).items():
            assert isinstance(value, type(SPECS[step].parameters[name])), (step, name)


def test_the_package_and_specs_import_light() -> None:
    code = (
        "import sys, pipeline_code.adherence; assert 'pipeline_code.dag' not in sys.modules; "
        "import pipeline_code.adherence.specs; "
        "heavy = {'pandas', 'lightgbm', 'sklearn', 'matplotlib'} & set(sys.modules); assert not heavy, heavy"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize("step", STEP_FOLDERS)
def test_step_code_imports_only_its_folder_and_common(step: str) -> None:
    """A step's SageMaker code asset is its folder plus pipeline_code/common: nothing else may be imported."""
    folder = ROOT / "pipeline_code" / "adherence" / step
    for path in folder.glob("*.py"):
        for name in _imports(path):
            if name.startswith("pipeline_code"):
                assert name.startswith((f"pipeline_code.adherence.{step}", "pipeline_code.common")), (path, name)


def test_common_imports_no_step_and_no_dag() -> None:
    for path in (ROOT / "pipeline_code" / "common").rglob("*.py"):
        for name in _imports(path):
            assert not name.startswith(("pipeline_code.adherence", "pipeline_code.dag")), (path, name)
