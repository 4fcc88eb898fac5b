"""Session helpers call the right APIs with the resolved defaults, leave audit lines, and map AWS errors."""

from __future__ import annotations

import json
import sys
import types
from pathlib import Path

import pytest
from botocore.stub import Stubber

from mlops_sdk.errors import (
    AccessDeniedError,
    ConfigError,
    EndpointNotReadyError,
    InvalidRequestError,
    NotFoundError,
    QuotaExceededError,
    SageMakerSdkMissingError,
)
from mlops_sdk.session import FeatureColumn, Session
from pipeline_code.common.contracts import adherence
from tests.sdk.helpers import EXECUTION_ROLE, KEY_ARN, PREFIX, bucket

CALLER = "arn:aws:sts::123456789012:user/moto"


@pytest.fixture
def session(config_path: Path, boto_session, tmp_path: Path) -> Session:
    return Session(
        stage="dev", config_path=config_path, environ={}, boto_session=boto_session, audit_path=tmp_path / "audit.jsonl"
    )


def audit_lines(session: Session) -> list[dict]:
    return [json.loads(line) for line in session.audit.path.read_text().splitlines()]


def test_session_exposes_the_resolved_config_and_where_values_came_from(config_path, boto_session, tmp_path):
    session = Session(
        stage="dev",
        config_path=config_path,
        environ={"MLOPS_TRAINING__INSTANCE_TYPE": "ml.c5.2xlarge"},
        overrides={"processing.instance_count": 2},
        boto_session=boto_session,
        audit_path=tmp_path / "a.jsonl",
    )
    assert session.config.kms.key_arn == KEY_ARN
    assert session.config.training.instance_type == "ml.c5.2xlarge"
    explained = {path: origin for path, _, origin in session.explain()}
    assert explained["training.instance_type"] == "environment (MLOPS_TRAINING__INSTANCE_TYPE)"
    assert explained["processing.instance_count"].startswith("runtime")
    assert explained["kms.key_arn"] == f"admin config ({config_path})"
    assert explained["training.volume_size_gb"] == "built-in default (PlatformConfig)"


def test_session_finds_its_config_by_environment_and_refuses_another_stage(config_path, boto_session):
    session = Session(stage="dev", environ={"MLOPS_CONFIG_FILE": str(config_path)}, boto_session=boto_session)
    assert session.config_path == config_path
    with pytest.raises(ConfigError, match="describes stage 'dev', not 'prod'"):
        Session(stage="prod", config_path=config_path, environ={}, boto_session=boto_session)
    with pytest.raises(ConfigError, match=r"no platform config; write it with `mlops config export"):
        Session(stage="dev", config_path=config_path.with_name("missing.yaml"), environ={}, boto_session=boto_session)


def test_start_pipeline_passes_parameters_and_audits(session, adherence_pipeline, requests):
    run = session.start_pipeline(
        "adherence", {"InputDataUri": f"s3://{bucket('raw')}/diabetic_data.csv.gz", "MinRocAuc": 0.66}
    )
    assert run.pipeline_name == adherence_pipeline
    assert run.arn.startswith(f"arn:aws:sagemaker:us-east-1:123456789012:pipeline/{adherence_pipeline}/execution/")
    assert requests.last("StartPipelineExecution") == {
        "PipelineName": adherence_pipeline,
        "PipelineParameters": [
            {"Name": "InputDataUri", "Value": f"s3://{bucket('raw')}/diabetic_data.csv.gz"},
            {"Name": "MinRocAuc", "Value": "0.66"},
        ],
    }
    assert session.pipeline_execution(run.arn)["PipelineExecutionArn"] == run.arn
    (line,) = audit_lines(session)
    assert line["operation"] == "sagemaker:StartPipelineExecution"
    assert line["caller"] == CALLER
    assert line["stage"] == "dev"
    assert line["result_arn"] == run.arn
    assert line["outcome"] == "ok"
    assert line["time"].endswith("Z")
    assert line["parameters"]["PipelineName"] == adherence_pipeline


def test_an_undeclared_pipeline_parameter_is_refused_before_anything_starts(session, adherence_pipeline, requests):
    with pytest.raises(InvalidRequestError, match=r"has no parameter\(s\) InputUri; it declares: InputDataUri, Min"):
        session.start_pipeline("adherence", {"InputUri": "s3://x/y"})
    assert not requests.of("StartPipelineExecution")


def test_an_unknown_pipeline_says_what_to_do(session):
    with pytest.raises(NotFoundError, match=r"sagemaker:DescribePipeline \(mlops-dev-churn\) failed: .*What to do: "):
        session.start_pipeline("churn")


def test_create_feature_group_from_the_adherence_contract(session, requests):
    arn = session.create_feature_group(
        "adherence-encounters", adherence.COLUMNS, record_identifier="encounter_id", description="encounters"
    )
    assert arn.endswith(f":feature-group/{PREFIX}-adherence-encounters")
    request = requests.last("CreateFeatureGroup")
    assert request["RoleArn"] == EXECUTION_ROLE
    assert request["OfflineStoreConfig"]["S3StorageConfig"] == {
        "S3Uri": f"s3://{bucket('features')}/feature-store",
        "KmsKeyId": KEY_ARN,
    }
    assert "OnlineStoreConfig" not in request  # off by default: it bills by the hour
    types_by_name = {f["FeatureName"]: f["FeatureType"] for f in request["FeatureDefinitions"]}
    assert types_by_name["encounter_id"] == "Integral"
    assert types_by_name["A1Cresult"] == "String"
    assert types_by_name["event_time"] == "String"
    assert len(types_by_name) == len(adherence.COLUMNS) + 1
    assert audit_lines(session)[-1]["result_arn"] == arn


def test_online_store_on_request_is_encrypted_with_the_platform_key(session, requests):
    session.create_feature_group(
        "scores",
        [FeatureColumn("id", "Integral"), FeatureColumn("score", "Fractional")],
        record_identifier="id",
        online=True,
    )
    assert requests.last("CreateFeatureGroup")["OnlineStoreConfig"] == {
        "EnableOnlineStore": True,
        "SecurityConfig": {"KmsKeyId": KEY_ARN},
    }


def test_a_bad_contract_is_refused_naming_the_columns(session, requests):
    with pytest.raises(InvalidRequestError, match=r"invalid feature name\(s\) bad name.*record identifier 'nope'"):
        session.create_feature_group("x", [FeatureColumn("bad name", "String")], record_identifier="nope")
    assert not requests.of("CreateFeatureGroup")


def test_processing_job_gets_role_key_sizes_and_network_defaults(session, requests):
    arn = session.submit_processing_job(
        image_uri="123456789012.dkr.ecr.us-east-1.amazonaws.com/adherence:1",
        inputs={"raw": f"s3://{bucket('raw')}/in/"},
        outputs={"validated": None},
        arguments=["--strict"],
        environment={"DB_PASSWORD": "hunter2", "LOG_LEVEL": "info"},
        job_name=f"{PREFIX}-validate-1",
        instance_count=2,
    )
    assert arn.endswith(f":processing-job/{PREFIX}-validate-1")
    request = requests.last("CreateProcessingJob")
    assert request["RoleArn"] == EXECUTION_ROLE
    assert request["ProcessingResources"]["ClusterConfig"] == {
        "InstanceCount": 2,  # the runtime argument
        "InstanceType": "ml.m5.xlarge",  # the built-in default
        "VolumeSizeInGB": 30,
        "VolumeKmsKeyId": KEY_ARN,
    }
    assert request["ProcessingOutputConfig"]["KmsKeyId"] == KEY_ARN
    (output,) = request["ProcessingOutputConfig"]["Outputs"]
    assert output["S3Output"]["S3Uri"] == f"s3://{bucket('artifacts')}/processing/{PREFIX}-validate-1/validated"
    assert output["S3Output"]["LocalPath"] == "/opt/ml/processing/output/validated"
    assert request["ProcessingInputs"][0]["S3Input"]["LocalPath"] == "/opt/ml/processing/input/raw"
    assert request["NetworkConfig"] == {"EnableInterContainerTrafficEncryption": True, "EnableNetworkIsolation": False}
    assert request["StoppingCondition"] == {"MaxRuntimeInSeconds": 3600}
    line = audit_lines(session)[-1]
    assert line["parameters"]["Environment"] == {"DB_PASSWORD": "***redacted***", "LOG_LEVEL": "info"}
    assert "hunter2" not in session.audit.path.read_text()


def test_training_job_defaults_from_environment_and_admin_config(config_path, boto_session, requests, tmp_path):
    text = (
        config_path.read_text()
        + "training:\n  volume_size_gb: 100\nnetwork:\n"
        + ("  subnet_ids: [subnet-0123456789abcdef0]\n  security_group_ids: [sg-0123456789abcdef0]\n")
    )
    config_path.write_text(text)
    session = Session(
        stage="dev",
        config_path=config_path,
        environ={"MLOPS_TRAINING__INSTANCE_TYPE": "ml.g5.xlarge"},
        boto_session=boto_session,
        audit_path=tmp_path / "a.jsonl",
    )
    session.submit_training_job(
        image_uri="img:1", inputs={"train": f"s3://{bucket('features')}/train/"}, hyperparameters={"lr": 0.1}
    )
    request = requests.last("CreateTrainingJob")
    assert request["TrainingJobName"].startswith(f"{PREFIX}-training-")
    assert request["ResourceConfig"] == {
        "InstanceType": "ml.g5.xlarge",
        "InstanceCount": 1,
        "VolumeSizeInGB": 100,
        "VolumeKmsKeyId": KEY_ARN,
    }
    assert request["OutputDataConfig"] == {"S3OutputPath": f"s3://{bucket('models')}/training/", "KmsKeyId": KEY_ARN}
    assert request["VpcConfig"] == {
        "SecurityGroupIds": ["sg-0123456789abcdef0"],
        "Subnets": ["subnet-0123456789abcdef0"],
    }
    assert request["HyperParameters"] == {"lr": "0.1"}
    assert request["StoppingCondition"] == {"MaxRuntimeInSeconds": 86400}


def test_live_endpoint_lookup_and_call(session, boto_session, requests):
    sagemaker = boto_session.client("sagemaker")
    sagemaker.create_model(ModelName="m", ExecutionRoleArn=EXECUTION_ROLE, PrimaryContainer={"Image": "img"})
    sagemaker.create_endpoint_config(
        EndpointConfigName="c",
        ProductionVariants=[
            {"VariantName": "v", "ModelName": "m", "InitialInstanceCount": 1, "InstanceType": "ml.m5.large"}
        ],
    )
    sagemaker.create_endpoint(EndpointName=f"{PREFIX}-adherence", EndpointConfigName="c")
    assert session.live_endpoint("adherence")["EndpointStatus"] == "InService"
    answer = session.invoke_endpoint("adherence", {"instances": [{"age": "[70-80)"}]})
    assert answer  # moto answers with a canned body
    request = requests.last("InvokeEndpoint")
    assert request["EndpointName"] == f"{PREFIX}-adherence"
    assert json.loads(request["Body"]) == {"instances": [{"age": "[70-80)"}]}
    assert not session.audit.path.exists()  # reading and calling change nothing: no audit line


def test_an_endpoint_not_in_service_says_what_to_do(session):
    stub = Stubber(session.client("sagemaker"))
    stub.add_response(
        "describe_endpoint",
        {
            "EndpointName": f"{PREFIX}-adherence",
            "EndpointArn": f"arn:aws:sagemaker:us-east-1:123456789012:endpoint/{PREFIX}-adherence",
            "EndpointConfigName": "c",
            "EndpointStatus": "Failed",
            "FailureReason": "image not found",
            "CreationTime": "2026-01-01T00:00:00Z",
            "LastModifiedTime": "2026-01-01T00:00:00Z",
        },
    )
    with stub, pytest.raises(EndpointNotReadyError, match=r"is Failed \(image not found\), not InService. What to do"):
        session.invoke_endpoint("adherence", b"{}")


@pytest.mark.parametrize(
    ("code", "error", "hint"),
    [
        ("AccessDeniedException", AccessDeniedError, "assume the stage's data-scientist or ML-engineer role"),
        ("ResourceLimitExceeded", QuotaExceededError, "request a quota increase"),
    ],
)
def test_aws_errors_become_sdk_errors_with_a_hint_and_an_audit_line(session, code, error, hint):
    stub = Stubber(session.client("sagemaker"))
    stub.add_client_error("create_training_job", service_error_code=code, service_message="nope")
    with stub, pytest.raises(error, match=hint) as raised:
        session.submit_training_job(image_uri="img", inputs={"train": "s3://b/k"}, job_name=f"{PREFIX}-t1")
    assert raised.value.code == code
    line = audit_lines(session)[-1]
    assert line["outcome"] == "error"
    assert line["operation"] == "sagemaker:CreateTrainingJob"
    assert line["result_arn"] is None
    assert line["error"]["type"] == error.__name__
    assert "nope" in line["error"]["message"]


def test_sagemaker_sdk_is_optional_and_configured_with_the_same_defaults(session, monkeypatch):
    monkeypatch.setitem(sys.modules, "sagemaker", None)  # not installed
    with pytest.raises(SageMakerSdkMissingError, match="pip install sagemaker"):
        session.sagemaker_session()

    captured: dict = {}

    class FakeSdkSession:
        def __init__(self, **kwargs):
            captured.update(kwargs)

    monkeypatch.setitem(sys.modules, "sagemaker", types.SimpleNamespace(Session=FakeSdkSession))
    assert isinstance(session.sagemaker_session(), FakeSdkSession)
    assert captured["default_bucket"] == bucket("artifacts")
    assert captured["sagemaker_config"]["SageMaker"]["TrainingJob"]["RoleArn"] == EXECUTION_ROLE
    assert captured["boto_session"] is session._boto
