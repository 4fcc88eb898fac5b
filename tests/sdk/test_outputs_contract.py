"""The stacks publish what the SDK's config needs, by the output convention, on the one shared synth."""

from __future__ import annotations

import pytest

from mlops_sdk.config import stage_names
from mlops_sdk.outputs import FAMILIES, OUTPUTS, description_of, export_name, spec_for
from tests.sdk.helpers import dev_outputs

CDK_OWN = "ExportsOutput"  # CDK's cross-stack reference outputs


def stage_outputs(synthesized, stage: str) -> dict[str, dict[str, dict]]:
    """Stack ID -> output ID -> output, for every stack of ``stage``."""
    from aws_cdk.assertions import Template

    return {
        stack.node.id: Template.from_stack(stack).to_json().get("Outputs", {}) for stack in synthesized.stacks(stage)
    }


@pytest.mark.parametrize("stage", ["dev", "staging", "prod", "sandbox"])
def test_every_required_output_is_published_once_with_the_stage_export_name(synthesized, stage):
    settings = synthesized.stages[stage].settings
    outputs = stage_outputs(synthesized, stage)
    ours = {key: (stack, out) for stack, by_key in outputs.items() for key, out in by_key.items() if CDK_OWN not in key}
    published = [key for by_key in outputs.values() for key in by_key if CDK_OWN not in key]
    assert len(published) == len(set(published)), "an output ID appears in two stacks of the stage"
    for spec in OUTPUTS:
        if spec.required:
            assert spec.key in ours, f"{stage}: no stack publishes {spec.key}"
    for key, (stack, out) in ours.items():
        assert spec_for(key) is not None, f"{stage}/{stack}: output {key} is outside the SDK's contract"
        assert out["Export"]["Name"] == export_name(settings.resource_prefix, key)
        assert out["Description"] == description_of(key)


def test_outputs_sit_in_the_stacks_that_own_the_resources(synthesized):
    outputs = stage_outputs(synthesized, "dev")
    assert {k for k in outputs["DataFoundation"] if CDK_OWN not in k} == {
        "StageResourcePrefix",
        "StageRegion",
        "PlatformKeyArn",
        "RawDataBucketName",
        "ProcessedFeaturesBucketName",
        "ModelArtifactsBucketName",
        "EdgeDeploymentsBucketName",
        "PipelineArtifactsBucketName",
        "AuditLogGroupName",
    }
    assert {k for k in outputs["Identity"] if CDK_OWN not in k} == {
        "SageMakerExecutionRoleArn",
        "DataScientistRoleArn",
        "MlEngineerRoleArn",
    }
    data = outputs["DataFoundation"]
    assert data["PlatformKeyArn"]["Value"] == {"Fn::GetAtt": ["PlatformKey1C4A1A63", "Arn"]}
    assert data["StageResourcePrefix"]["Value"] == "mlops-dev"
    assert data["StageRegion"]["Value"] == "us-east-1"


def test_the_test_fixture_holds_exactly_the_outputs_the_dev_stage_publishes(synthesized):
    synthesized_keys = {
        key for by_key in stage_outputs(synthesized, "dev").values() for key in by_key if CDK_OWN not in key
    }
    fixture_keys = {key for outputs in dev_outputs().values() for key in outputs if CDK_OWN not in key}
    assert fixture_keys == synthesized_keys


@pytest.mark.parametrize("stage", ["dev", "staging", "prod", "sandbox"])
def test_the_sdk_derives_stage_names_as_the_cdk_app_does(synthesized, stage):
    settings = synthesized.stages[stage].settings
    owner = settings.owner if stage == "sandbox" else None
    assert stage_names(stage, project=settings.project, owner=owner) == (
        settings.construct_id,
        settings.resource_prefix,
    )
    for stack in synthesized.stacks(stage):
        assert stack.stack_name.rsplit("-", 1)[0] == settings.construct_id


def test_output_families_map_pascal_names_to_kebab_names():
    pipelines, endpoints, groups = FAMILIES
    assert pipelines.match("AdherencePipelineName") == "adherence"
    assert pipelines.match("AdherenceTrainingPipelineName") == "adherence-training"
    assert endpoints.match("IntentEndpointName") == "intent"
    assert groups.match("AdherenceEncountersFeatureGroupName") == "adherence-encounters"
    assert pipelines.match("PipelineName") is None
    assert spec_for("SomethingElse") is None


def test_a_key_outside_the_contract_fails_at_synth_with_the_convention():
    with pytest.raises(ValueError, match=r"'PlatformKeyARN' is not part of the SDK's output contract.*PipelineName"):
        description_of("PlatformKeyARN")


def test_the_audit_log_group_is_encrypted_retained_and_writable_by_the_sdk_roles(synthesized):

    data = synthesized.template("dev", "data")
    data.has_resource(
        "AWS::Logs::LogGroup",
        {
            "Properties": {
                "LogGroupName": "/mlops/dev/sdk-audit",
                "KmsKeyId": {"Fn::GetAtt": ["PlatformKey1C4A1A63", "Arn"]},
                "RetentionInDays": 2192,
            },
            "DeletionPolicy": "Retain",
        },
    )
    assert set(data.find_resources("AWS::Logs::LogGroup")) == {"SdkAuditLogGroup3977FCA3"}  # stateful: ID pinned
    key_policy = data.find_resources("AWS::KMS::Key")["PlatformKey1C4A1A63"]["Properties"]["KeyPolicy"]
    (statement,) = [s for s in key_policy["Statement"] if s.get("Sid") == "EncryptionByCloudWatchLogs"]
    assert "*" not in "".join(statement["Action"])
    assert statement["Condition"]["ArnEquals"]["kms:EncryptionContext:aws:logs:arn"] == {
        "Fn::Join": [
            "",
            [
                "arn:",
                {"Ref": "AWS::Partition"},
                ":logs:",
                {"Ref": "AWS::Region"},
                ":",
                {"Ref": "AWS::AccountId"},
                ":log-group:/mlops/dev/sdk-audit",
            ],
        ]
    }
    sandbox = synthesized.template("sandbox", "data")
    sandbox.has_resource("AWS::Logs::LogGroup", {"Properties": {"RetentionInDays": 30}, "DeletionPolicy": "Delete"})

    identity = synthesized.template("dev", "identity")
    writers = [
        logical
        for logical, policy in identity.find_resources("AWS::IAM::ManagedPolicy").items()
        if any(
            s.get("Action") == ["logs:CreateLogStream", "logs:PutLogEvents"]
            and "SdkAuditLogGroup" in str(s.get("Resource"))
            for s in policy["Properties"]["PolicyDocument"]["Statement"]
        )
    ]
    assert sorted(w.split("Permissions")[0] for w in writers) == [
        "DataScientistRole",
        "MlEngineerRole",
        "SageMakerExecutionRole",
    ]
