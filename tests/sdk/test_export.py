"""``mlops config export``: the config from a deploy's outputs file or the stacks' exports, written 0600, with the
SageMaker SDK's defaults beside it."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import boto3
import pytest
import yaml

from mlops_sdk import admin
from mlops_sdk.config import PlatformConfig
from mlops_sdk.errors import OutputsError
from mlops_sdk.export import outputs_from_exports, outputs_from_file, sagemaker_defaults
from tests.sdk.helpers import EXECUTION_ROLE, KEY_ARN, PREFIX, REGION, bucket, dev_outputs, write_outputs


def test_export_from_outputs_file_writes_the_config_mode_0600(tmp_path: Path, clean_env):
    result = admin.export(
        stage="dev", outputs_file=write_outputs(tmp_path / "o.json"), out=tmp_path / "cfg" / "dev.yaml", environ={}
    )
    assert stat.S_IMODE(result.config_path.stat().st_mode) == 0o600
    assert stat.S_IMODE(result.config_path.parent.stat().st_mode) == 0o700
    text = result.config_path.read_text()
    assert text.startswith("# Platform config of mlops-dev, written by `mlops config export`")
    config = PlatformConfig.model_validate(yaml.safe_load(text))
    assert config.stage == "dev"
    assert config.resource_prefix == PREFIX
    assert config.region == REGION
    assert config.kms.key_arn == KEY_ARN
    assert config.iam.execution_role_arn == EXECUTION_ROLE
    assert config.s3.raw_bucket == bucket("raw")
    assert config.s3.artifacts_bucket == bucket("artifacts")
    assert config.offline_store_uri == f"s3://{bucket('features')}/feature-store"
    assert config.feature_store.online_store_enabled is False  # bills by the hour: off unless switched on
    assert config.pipeline_name("adherence") == "mlops-dev-adherence"


def test_default_location_is_the_users_config_folder(tmp_path: Path, clean_env):
    result = admin.export(stage="dev", outputs_file=write_outputs(tmp_path / "o.json"), out=None, environ={})
    assert result.config_path == tmp_path / "home" / ".config" / "mlops" / "dev.yaml"
    assert result.sagemaker_config_path == tmp_path / "home" / ".config" / "mlops" / "dev.sagemaker.yaml"
    assert stat.S_IMODE(result.sagemaker_config_path.stat().st_mode) == 0o600


def test_other_stages_and_cdks_own_exports_are_ignored(tmp_path: Path):
    outputs = dev_outputs()
    outputs["Prod-DataFoundation"] = {"PlatformKeyArn": KEY_ARN.replace("0f1e", "ffff"), "StageRegion": "eu-west-1"}
    found = outputs_from_file(write_outputs(tmp_path / "o.json", outputs), stage="dev")
    assert found["PlatformKeyArn"] == KEY_ARN
    assert not any(key.startswith("ExportsOutput") for key in found)


def test_family_outputs_of_later_stacks_join_the_config(tmp_path: Path):
    outputs = dev_outputs()
    outputs["Dev-MlPlatform"] = {
        "AdherencePipelineName": "mlops-dev-adherence-v2",
        "AdherenceEncountersFeatureGroupName": "mlops-dev-encounters",
        "AdherenceEndpointName": "mlops-dev-adherence-live",
        "PrivateSubnetIds": "subnet-0123456789abcdef0, subnet-0123456789abcdef1",
        "JobSecurityGroupIds": "sg-0123456789abcdef0",
        "VpcId": "vpc-0123456789abcdef0",
    }
    found = outputs_from_file(write_outputs(tmp_path / "o.json", outputs), stage="dev")
    from mlops_sdk.export import config_from_outputs

    config = PlatformConfig.model_validate(config_from_outputs(found, stage="dev", source="test"))
    assert config.pipeline_name("adherence") == "mlops-dev-adherence-v2"
    assert config.feature_group_name("adherence-encounters") == "mlops-dev-encounters"
    assert config.endpoint_name("adherence") == "mlops-dev-adherence-live"
    assert config.network.vpc_config == {
        "SecurityGroupIds": ["sg-0123456789abcdef0"],
        "Subnets": ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"],
    }


def test_a_sandbox_is_found_by_its_owner(tmp_path: Path):
    outputs = {f"Sandbox-alice-{k.split('-', 1)[1]}": v for k, v in dev_outputs().items()}
    outputs["Sandbox-alice-DataFoundation"]["StageResourcePrefix"] = "mlops-sbx-alice"
    path = write_outputs(tmp_path / "o.json", outputs)
    assert outputs_from_file(path, stage="sandbox", owner="alice")["StageResourcePrefix"] == "mlops-sbx-alice"
    with pytest.raises(OutputsError, match=r"no stack of stage 'sandbox' \(Sandbox-bob-\*\)"):
        outputs_from_file(path, stage="sandbox", owner="bob")
    with pytest.raises(ValueError, match="needs its owner"):
        outputs_from_file(path, stage="sandbox")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", r"not JSON .*is it a cdk --outputs-file"),
        ('["a"]', r"expected \{stack name: \{output key: value\}\}"),
        ('{"Prod-DataFoundation": {}}', r"no stack of stage 'dev' \(Dev-\*\); the file has: Prod-DataFoundation"),
    ],
)
def test_a_malformed_outputs_file_is_named_with_the_problem(tmp_path: Path, content: str, message: str):
    path = tmp_path / "o.json"
    path.write_text(content)
    with pytest.raises(OutputsError, match=message):
        outputs_from_file(path, stage="dev")


def test_a_missing_stack_is_named_with_what_to_deploy(tmp_path: Path, clean_env):
    outputs = dev_outputs()
    del outputs["Dev-Identity"]
    with pytest.raises(OutputsError, match=r"missing output\(s\) SageMakerExecutionRoleArn; deploy the stacks"):
        admin.export(stage="dev", outputs_file=write_outputs(tmp_path / "o.json", outputs), out=None, environ={})
    assert not (tmp_path / "home" / ".config" / "mlops" / "dev.yaml").exists()  # nothing half-written


def test_an_invalid_output_value_is_named(tmp_path: Path, clean_env):
    outputs = dev_outputs()
    outputs["Dev-DataFoundation"]["PlatformKeyArn"] = "not-an-arn"
    with pytest.raises(OutputsError, match=r"kms\.key_arn: String should match pattern"):
        admin.export(stage="dev", outputs_file=write_outputs(tmp_path / "o.json", outputs), out=None, environ={})


def test_two_values_for_one_output_are_refused(tmp_path: Path):
    outputs = dev_outputs()
    outputs["Dev-Identity"]["StageRegion"] = "eu-west-1"
    with pytest.raises(OutputsError, match=r"output StageRegion has two values: 'us-east-1'.*'eu-west-1'"):
        outputs_from_file(write_outputs(tmp_path / "o.json", outputs), stage="dev")


def _deploy_exports(cfn, outputs: dict[str, str], stack: str = "Dev-DataFoundation") -> None:
    template = {
        "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
        "Outputs": {k: {"Value": v, "Export": {"Name": f"{PREFIX}:{k}"}} for k, v in outputs.items()},
    }
    cfn.create_stack(StackName=stack, TemplateBody=json.dumps(template))


def test_export_reads_the_stacks_exports_read_only(tmp_path: Path, boto_session, requests):
    outputs = dev_outputs()
    cfn = boto_session.client("cloudformation")
    _deploy_exports(cfn, outputs["Dev-DataFoundation"])
    _deploy_exports(cfn, outputs["Dev-Identity"], "Dev-Identity")
    requests.calls.clear()
    result = admin.export(
        stage="dev", outputs_file=None, out=tmp_path / "dev.yaml", environ={}, boto_session=boto_session
    )
    assert result.config.kms.key_arn == KEY_ARN
    assert result.source == f"CloudFormation exports {PREFIX}:* in {REGION}"
    assert {name for name, _ in requests.calls} == {"ListExports"}


def test_exports_of_another_stage_are_not_read(boto_session):
    cfn = boto_session.client("cloudformation")
    _deploy_exports(cfn, {"StageRegion": REGION})
    with pytest.raises(OutputsError, match=r"no CloudFormation export named mlops-prod:\*"):
        outputs_from_exports(cfn, resource_prefix="mlops-prod")


def test_sagemaker_defaults_follow_the_sdk_schema_shape(tmp_path: Path, config_path: Path):
    document = yaml.safe_load(config_path.with_name("dev.sagemaker.yaml").read_text())
    assert document["SchemaVersion"] == "1.0"
    sm = document["SageMaker"]
    assert sm["PythonSDK"]["Modules"]["Session"] == {
        "DefaultS3Bucket": bucket("artifacts"),
        "DefaultS3ObjectKeyPrefix": "sagemaker-sdk",
    }
    assert sm["ProcessingJob"]["RoleArn"] == sm["TrainingJob"]["RoleArn"] == EXECUTION_ROLE
    assert sm["Model"]["ExecutionRoleArn"] == sm["Pipeline"]["RoleArn"] == EXECUTION_ROLE
    assert sm["ProcessingJob"]["ProcessingOutputConfig"]["KmsKeyId"] == KEY_ARN
    assert sm["ProcessingJob"]["ProcessingResources"]["ClusterConfig"]["VolumeKmsKeyId"] == KEY_ARN
    assert sm["TrainingJob"]["OutputDataConfig"]["KmsKeyId"] == KEY_ARN
    assert sm["TrainingJob"]["ResourceConfig"]["VolumeKmsKeyId"] == KEY_ARN
    assert sm["EndpointConfig"]["KmsKeyId"] == KEY_ARN
    assert sm["EndpointConfig"]["ProductionVariants"] == [{"CoreDumpConfig": {"KmsKeyId": KEY_ARN}}]
    assert sm["FeatureGroup"]["OfflineStoreConfig"]["S3StorageConfig"]["KmsKeyId"] == KEY_ARN
    assert sm["TrainingJob"]["EnableInterContainerTrafficEncryption"] is True
    assert "VpcConfig" not in sm["TrainingJob"]  # no VPC exported: the key is left out, not written empty


# The SDK's schema (sagemaker/config/config_schema.py) allows exactly these properties per object; every object
# is additionalProperties: false there, so an unknown key makes the SageMaker SDK reject the whole file.
SCHEMA_KEYS = {
    "": {"SchemaVersion", "SageMaker"},
    "SageMaker": {
        "PythonSDK", "FeatureGroup", "MonitoringSchedule", "Endpoint", "EndpointConfig", "AutoMLJob", "TransformJob",
        "CompilationJob", "Pipeline", "Model", "ModelPackage", "ProcessingJob", "TrainingJob", "EdgePackagingJob",
    },
    "SageMaker.PythonSDK": {"Modules"},
    "SageMaker.PythonSDK.Modules": {"Session", "RemoteFunction", "Estimator"},
    "SageMaker.PythonSDK.Modules.Session": {"DefaultS3Bucket", "DefaultS3ObjectKeyPrefix"},
    "SageMaker.PythonSDK.Modules.RemoteFunction": {
        "Dependencies", "PreExecutionCommands", "PreExecutionScript", "EnableInterContainerTrafficEncryption",
        "EnvironmentVariables", "ImageUri", "IncludeLocalWorkDir", "InstanceType", "JobCondaEnvironment", "RoleArn",
        "S3KmsKeyId", "S3RootUri", "Tags", "VolumeKmsKeyId", "VpcConfig",
    },
    "SageMaker.ProcessingJob": {
        "Environment", "NetworkConfig", "ProcessingInputs", "ProcessingOutputConfig", "ProcessingResources",
        "RoleArn", "Tags",
    },
    "SageMaker.ProcessingJob.NetworkConfig": {
        "EnableInterContainerTrafficEncryption", "EnableNetworkIsolation", "VpcConfig",
    },
    "SageMaker.TrainingJob": {
        "EnableInterContainerTrafficEncryption", "EnableNetworkIsolation", "Environment", "OutputDataConfig",
        "ResourceConfig", "ProfilerConfig", "RoleArn", "VpcConfig", "Tags",
    },
    "SageMaker.TransformJob": {"DataCaptureConfig", "Environment", "TransformOutput", "TransformResources", "Tags"},
    "SageMaker.Model": {"Containers", "EnableNetworkIsolation", "ExecutionRoleArn", "PrimaryContainer", "VpcConfig",
                        "Tags"},
    "SageMaker.EndpointConfig": {"AsyncInferenceConfig", "DataCaptureConfig", "KmsKeyId", "ProductionVariants",
                                 "Tags"},
    "SageMaker.Endpoint": {"Tags"},
    "SageMaker.FeatureGroup": {"OfflineStoreConfig", "OnlineStoreConfig", "RoleArn", "Tags"},
    "SageMaker.Pipeline": {"RoleArn", "Tags"},
    "SageMaker.MonitoringSchedule": {"MonitoringScheduleConfig", "Tags"},
    "SageMaker.MonitoringSchedule.MonitoringScheduleConfig": {"MonitoringJobDefinition"},
    "SageMaker.MonitoringSchedule.MonitoringScheduleConfig.MonitoringJobDefinition": {
        "Environment", "MonitoringOutputConfig", "MonitoringResources", "NetworkConfig", "RoleArn",
    },
    "SageMaker.AutoMLJob": {"AutoMLJobConfig", "OutputDataConfig", "RoleArn", "Tags"},
    "SageMaker.AutoMLJob.AutoMLJobConfig": {"SecurityConfig"},
    "SageMaker.AutoMLJob.AutoMLJobConfig.SecurityConfig": {
        "EnableInterContainerTrafficEncryption", "VolumeKmsKeyId", "VpcConfig",
    },
}  # fmt: skip


def test_sagemaker_defaults_use_only_keys_of_the_sdk_schema(config_path: Path):
    config = PlatformConfig.model_validate(yaml.safe_load(config_path.read_text()))
    with_vpc = config.model_copy(
        update={
            "network": config.network.model_copy(
                update={"subnet_ids": ("subnet-0123456789abcdef0",), "security_group_ids": ("sg-0123456789abcdef0",)}
            )
        }
    )
    for document in (sagemaker_defaults(config), sagemaker_defaults(with_vpc)):
        for path, allowed in SCHEMA_KEYS.items():
            node = document
            for part in filter(None, path.split(".")):
                node = node[part]
            assert set(node) <= allowed, f"{path or '(root)'}: {sorted(set(node) - allowed)} not in the schema"
    vpc = sagemaker_defaults(with_vpc)["SageMaker"]["ProcessingJob"]["NetworkConfig"]["VpcConfig"]
    assert vpc == {"SecurityGroupIds": ["sg-0123456789abcdef0"], "Subnets": ["subnet-0123456789abcdef0"]}


def test_the_boto3_session_region_is_required_without_an_outputs_file(tmp_path: Path, clean_env, monkeypatch):
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    from mlops_sdk.errors import ConfigError

    with pytest.raises(ConfigError, match="no AWS region: pass --region"):
        admin.export(
            stage="dev", outputs_file=None, out=tmp_path / "x.yaml", environ={}, boto_session=boto3.session.Session()
        )
