"""Whole-template properties: cfn-lint clean, deterministic synth, stable logical IDs of stateful resources."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.synth import synth_all

# Renaming a construct replaces the resource: for these, that means data loss or a new key. Update this list
# only together with a migration plan.
BUCKET_IDS = {
    "AccessLogsBucket9935880A",
    "RawDataBucket0AE59F17",
    "ProcessedFeaturesBucketC3CCAD50",
    "ModelArtifactsBucket68988818",
    "EdgeDeploymentsBucket1C228AE3",
    "PipelineArtifactsBucket8119B1FA",
}
STATEFUL_LOGICAL_IDS = {
    "data": {"AWS::KMS::Key": {"PlatformKey1C4A1A63"}, "AWS::S3::Bucket": BUCKET_IDS},
    "replica": {"AWS::KMS::Key": {"ReplicaKey2E487A43"}, "AWS::S3::Bucket": BUCKET_IDS},
    # the model registry and the features: replacing them loses registered models and online records
    "ml_platform": {
        "AWS::SageMaker::ModelPackageGroup": {"AdherenceModelPackageGroup", "IntentModelPackageGroup"},
        "AWS::SageMaker::FeatureGroup": {"AdherenceFeatureGroupEA3E60DD"},
    },
}


@pytest.mark.parametrize("stage", ["dev", "staging", "prod", "sandbox"])
@pytest.mark.parametrize("stack", sorted(STATEFUL_LOGICAL_IDS))
def test_stateful_logical_ids_are_stable(synthesized, stage, stack):
    template = synthesized.template(stage, stack)
    for resource_type, expected in STATEFUL_LOGICAL_IDS[stack].items():
        assert set(template.find_resources(resource_type)) == expected


def test_cfn_lint_reports_no_errors_on_any_template(synthesized):
    files = [str(p) for p in synthesized.template_files()]
    assert len(files) == sum(len(synthesized.stacks(stage)) for stage in synthesized.stages) >= 20
    result = subprocess.run(
        [
            str(Path(sys.executable).parent / "cfn-lint"),
            "--regions",
            "us-east-1",
            "us-west-2",
            "--format",
            "parseable",
            *files,
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    # cfn-lint's exit code is a bit mask: 1 fatal, 2 errors, 4 warnings, 8 informational.
    assert result.returncode & 0b11 == 0, result.stdout + result.stderr
    assert result.returncode == 0, f"cfn-lint warnings:\n{result.stdout}"


def test_two_synths_are_byte_identical(synthesized, tmp_path: Path):
    second = synth_all(tmp_path / "second")
    first_files = {p.relative_to(synthesized.outdir): p.read_bytes() for p in synthesized.template_files()}
    second_files = {p.relative_to(second.outdir): p.read_bytes() for p in second.template_files()}
    assert first_files.keys() == second_files.keys()
    changed = [str(name) for name in first_files if first_files[name] != second_files[name]]
    assert not changed, f"templates differ between two synths: {changed}"
