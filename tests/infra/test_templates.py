"""Whole-template properties: cfn-lint clean, deterministic synth, stable logical IDs of stateful resources."""

from __future__ import annotations

from pathlib import Path

import pytest

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
    files = synthesized.template_files()
    stacks = sum(len(synthesized.stacks(stage)) for stage in synthesized.stages)
    products = sum(len(synthesized.product_stacks(stage)) for stage in synthesized.stages)
    assert stacks >= 20 and products == 2 * len(synthesized.stages)
    assert len(files) == stacks + products + len(synthesized.delivery_stacks())
    returncode, output = synthesized.cfn_lint_result()  # one cfn-lint process over all templates
    assert returncode & 0b11 == 0, output
    assert returncode == 0, f"cfn-lint warnings:\n{output}"


def test_two_synths_give_a_byte_identical_cloud_assembly(synthesized):
    """Templates, manifests, tree.json and per-stack metadata alike: no clock, no random, no stack trace in them.

    The second synth is ``python app.py`` in its own process (its own jsii kernel path, as a second ``cdk synth``).
    """
    first = synthesized.all_files()
    second = synthesized.independent_synth()
    assert len(first) > len(synthesized.template_files())
    assert first.keys() == second.keys()
    changed = [name for name in first if first[name] != second[name]]
    assert not changed, f"files differ between two synths: {changed}"


def test_the_synth_raises_no_cdk_warning(synthesized):
    """A warning would be printed on every synth and its stack trace would break the byte-identical assembly."""
    assert synthesized.warnings == [], "\n".join(map(str, synthesized.warnings))


def test_the_warning_check_sees_a_cdk_warning(tmp_path: Path):
    from aws_cdk import Annotations, App, Stack

    from stacks.nag import synth_warnings

    app = App(outdir=str(tmp_path))
    Annotations.of(Stack(app, "Noisy")).add_warning_v2("test:probe", "a warning the check must see")
    assert [w.path for w in synth_warnings(app.synth())] == ["/Noisy"]
