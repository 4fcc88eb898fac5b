"""The Serving stack on the shared synth: rule, deployer, dead-letter queue, alarms, and who may do what."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from aws_cdk.assertions import Match

from pipeline_code.deploy.handler import EDGE
from pipeline_code.deploy.settings import DeployerSettings, settings_from_env
from stacks.serving import DEPLOYER_HANDLER
from tests.infra.policy_eval import decision, role_statements

STAGES = ("dev", "staging", "prod")
ROOT = Path(__file__).resolve().parents[2]


def _one(template_json: dict, kind: str) -> tuple[str, dict]:
    (found,) = [(k, r) for k, r in template_json["Resources"].items() if r["Type"] == kind]
    return found


def _deployer_settings(synthesized, stage: str) -> DeployerSettings:
    """The settings the deployer reads from its synthesized environment (tokens replaced by placeholders)."""
    _, fn = _one(synthesized.template(stage, "serving").to_json(), "AWS::Lambda::Function")
    placeholders = {
        "CAPTURE_S3_URI": "s3://bucket/data-capture",
        "MONITORING_S3_URI": "s3://bucket/monitoring",
        "EDGE_BUCKET": "edge-bucket",
        "EDGE_THING_GROUP_ARN": "arn:aws:iot:r:1:thinggroup/placeholder",
    }
    env = {
        k: v if isinstance(v, str) else placeholders.get(k, "arn:aws:placeholder")
        for k, v in fn["Properties"]["Environment"]["Variables"].items()
    }
    return settings_from_env(env)


@pytest.fixture(scope="module")
def serving(synthesized):
    return synthesized.template("dev", "serving")


@pytest.mark.parametrize("stage", STAGES)
def test_every_stage_has_the_rule_deployer_alarms_and_dead_letter_queue(synthesized, stage: str):
    template = synthesized.template(stage, "serving")
    template.resource_count_is("AWS::Events::Rule", 2)  # endpoints; devices
    template.resource_count_is("AWS::Lambda::Function", 1)
    template.resource_count_is("AWS::SQS::Queue", 1)
    template.resource_count_is("AWS::CloudWatch::Alarm", 4)


def test_rule_passes_only_approved_packages_of_the_stage_groups_to_the_deployer(serving):
    serving.has_resource_properties(
        "AWS::Events::Rule",
        {
            "EventPattern": {
                "source": ["aws.sagemaker"],
                "detail-type": ["SageMaker Model Package State Change"],
                "detail": {
                    "ModelApprovalStatus": ["Approved"],
                    "ModelPackageGroupName": ["mlops-dev-adherence", "mlops-dev-intent"],
                },
            },
            "Targets": [
                Match.object_like(
                    {
                        "Arn": {"Fn::GetAtt": [Match.string_like_regexp("^Deployer"), "Arn"]},
                        "DeadLetterConfig": {"Arn": {"Fn::GetAtt": [Match.string_like_regexp("DeadLetter"), "Arn"]}},
                        "RetryPolicy": {"MaximumRetryAttempts": 8, "MaximumEventAgeInSeconds": 21600},
                    }
                )
            ],
        },
    )


def test_deployer_function_is_pinned_bounded_traced_encrypted_and_has_a_dlq(serving):
    _, fn = _one(serving.to_json(), "AWS::Lambda::Function")
    props = fn["Properties"]
    assert props["Runtime"] == "python3.14" and props["Handler"] == DEPLOYER_HANDLER
    assert props["ReservedConcurrentExecutions"] == 1
    assert props["TracingConfig"] == {"Mode": "Active"}
    assert "PlatformKey" in props["KmsKeyArn"]["Fn::ImportValue"]
    assert props["DeadLetterConfig"]["TargetArn"]["Fn::GetAtt"][0].startswith("DeployerDeadLetterQueue")
    assert "LambdaExecutionRole" in props["Role"]["Fn::ImportValue"]
    assert props["FunctionName"] == "mlops-dev-model-deployer"


def test_dead_letter_queue_and_logs_use_the_stage_key_and_tls(serving):
    serving.has_resource_properties(
        "AWS::SQS::Queue",
        {
            "QueueName": "mlops-dev-model-deployer-dlq",
            "KmsMasterKeyId": {"Fn::ImportValue": Match.string_like_regexp("PlatformKey")},
        },
    )
    serving.has_resource_properties(
        "AWS::SQS::QueuePolicy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [Match.object_like({"Effect": "Deny", "Condition": {"Bool": {"aws:SecureTransport": "false"}}})]
                )
            }
        },
    )
    serving.has_resource_properties(
        "AWS::Logs::LogGroup",
        {"LogGroupName": "/aws/lambda/mlops-dev-model-deployer", "KmsKeyId": Match.any_value(), "RetentionInDays": 365},
    )


def test_no_iam_policy_or_role_is_made_in_the_serving_stack(serving):
    """Everything the deployer may do is granted (and reviewed) in the Identity stack's managed policy."""
    for kind in ("AWS::IAM::Role", "AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
        serving.resource_count_is(kind, 0)


@pytest.mark.parametrize(
    ("stage", "mode"), [("dev", "serverless"), ("staging", "provisioned"), ("prod", "provisioned")]
)
def test_deployer_environment_is_the_stage_settings(synthesized, stage: str, mode: str):
    settings = _deployer_settings(synthesized, stage)
    assert settings.mode == mode and settings.prefix == f"mlops-{stage}"
    assert settings.groups == ("adherence", "intent")
    assert settings.edge_model == "intent"


def test_deployer_knows_the_stage_thing_group_and_edge_bucket(serving):
    _, fn = _one(serving.to_json(), "AWS::Lambda::Function")
    env = fn["Properties"]["Environment"]["Variables"]
    assert "thinggroup/mlops-dev-" in json.dumps(env["EDGE_THING_GROUP_ARN"])
    assert "EdgeDeploymentsBucket" in json.dumps(env["EDGE_BUCKET"])


def test_devices_rule_passes_only_approved_intent_packages_wrapped_for_the_edge_deployer(serving):
    rules = serving.find_resources("AWS::Events::Rule")
    (devices,) = [r["Properties"] for lid, r in rules.items() if lid.startswith("ApprovedModelPackagesForDevices")]
    assert devices["EventPattern"]["detail"] == {
        "ModelApprovalStatus": ["Approved"],
        "ModelPackageGroupName": ["mlops-dev-intent"],
    }
    (target,) = devices["Targets"]
    assert target["Arn"]["Fn::GetAtt"][0].startswith("Deployer")
    assert target["RetryPolicy"] == {"MaximumRetryAttempts": 8, "MaximumEventAgeInSeconds": 21600}
    assert "DeadLetterConfig" in target
    template = target["InputTransformer"]["InputTemplate"]
    # the handler reads {"target": "edge", "event": <the whole event>}; the variable is EventBridge's own
    assert template == '{"target": "edge", "event": <aws.events.event.json>}'
    assert json.loads(template.replace("<aws.events.event.json>", '{"detail": {}}')) == {
        "target": EDGE,
        "event": {"detail": {}},
    }


def test_alarms_are_the_ones_the_deployer_names_and_notify(synthesized):
    settings = _deployer_settings(synthesized, "prod")
    alarms = synthesized.template("prod", "serving").find_resources("AWS::CloudWatch::Alarm")
    names = {a["Properties"]["AlarmName"]: a["Properties"] for a in alarms.values()}
    for model in ("adherence", "intent"):
        errors_name, latency_name = settings.alarm_names(model)
        assert (errors_name, latency_name) == (
            f"mlops-prod-{model}-5xx-errors",
            f"mlops-prod-{model}-model-latency-p99",
        )
        errors, latency = names[errors_name], names[latency_name]
        assert errors["MetricName"] == "Invocation5XXErrors" and errors["Statistic"] == "Sum"
        assert latency["MetricName"] == "ModelLatency" and latency["ExtendedStatistic"] == "p99"
        assert latency["Threshold"] == 500 * 1000  # prod config: 500 ms, CloudWatch reports microseconds
        for alarm in (errors, latency):
            assert {"Name": "EndpointName", "Value": f"mlops-prod-{model}"} in alarm["Dimensions"]
            assert alarm["TreatMissingData"] == "notBreaching" and len(alarm["AlarmActions"]) == 1


def test_logical_ids_of_the_log_group_and_queue_are_stable(serving):
    ids = set(serving.to_json()["Resources"])
    assert {"DeployerLogs00C6F56A", "DeployerDeadLetterQueue353CDDA2", "Deployer92EF8763"} <= ids


# who may do what (identity policies and the permissions boundary together)
@pytest.fixture(scope="module")
def can(synthesized):
    identity = synthesized.template("dev", "identity").to_json()
    guardrails = synthesized.template("dev", "guardrails").to_json()
    _, boundary = _one(guardrails, "AWS::IAM::ManagedPolicy")

    def _can(role: str, action: str) -> str:
        (lid,) = [k for k, r in identity["Resources"].items() if r["Type"] == "AWS::IAM::Role" and k.startswith(role)]
        return decision(action, role_statements(identity, lid), boundary["Properties"]["PolicyDocument"]["Statement"])

    return _can


@pytest.mark.parametrize(
    "action", ["sagemaker:UpdateModelPackage", "lambda:InvokeFunction", "sagemaker:UpdateEndpoint"]
)
def test_data_scientist_can_neither_approve_nor_invoke_the_deployer(can, action: str):
    assert can("DataScientistRole", action) == "explicit-deny"


@pytest.mark.parametrize(
    "action",
    [
        "sagemaker:UpdateModelPackage",
        "lambda:InvokeFunction",
        "lambda:GetFunctionConfiguration",
        "sagemaker:ListEndpointConfigs",
    ],
)
def test_ml_engineer_approves_and_runs_the_deployer(can, action: str):
    assert can("MlEngineerRole", action) == "allow"


@pytest.mark.parametrize(
    "action",
    [
        "sagemaker:CreateEndpoint",
        "sagemaker:UpdateEndpoint",
        "sqs:SendMessage",
        "xray:PutTraceSegments",
        "sagemaker:ListModelPackages",
        "iam:PassRole",
    ],
)
def test_deployer_role_may_deploy(can, action: str):
    assert can("LambdaExecutionRole", action) == "allow"


@pytest.mark.parametrize(
    "action", ["sagemaker:UpdateModelPackage", "sagemaker:CreateTrainingJob", "lambda:InvokeFunction", "iam:CreateRole"]
)
def test_deployer_role_can_neither_approve_nor_train_nor_escalate(can, action: str):
    assert can("LambdaExecutionRole", action) != "allow"


def test_deployer_role_is_scoped_to_the_stage_prefix_and_passes_only_the_sagemaker_role(synthesized):
    identity = synthesized.template("dev", "identity").to_json()
    (lid,) = [
        k
        for k, r in identity["Resources"].items()
        if r["Type"] == "AWS::IAM::Role" and k.startswith("LambdaExecutionRole")
    ]
    statements = role_statements(identity, lid)
    (passrole,) = [s for s in statements if s["Action"] == "iam:PassRole"]
    assert passrole["Resource"]["Fn::GetAtt"][0].startswith("SageMakerExecutionRole")
    (deploy,) = [s for s in statements if s.get("Sid") == "DeployApprovedModels"]
    for resource in deploy["Resource"]:
        assert resource["Fn::Join"][1][-1].endswith(":mlops-dev-*") or "/mlops-dev-" in resource["Fn::Join"][1][-1]
    (dlq,) = [s for s in statements if s.get("Sid") == "DeployerDeadLetterQueue"]
    assert dlq["Resource"]["Fn::Join"][1][-1].endswith(":mlops-dev-model-deployer-dlq")


@pytest.mark.parametrize("role", ["LambdaExecutionRole", "MlEngineerRole"])
def test_deployers_may_let_sagemaker_encrypt_endpoint_storage_with_the_stage_key_only(synthesized, role: str):
    identity = synthesized.template("dev", "identity").to_json()
    (lid,) = [k for k, r in identity["Resources"].items() if r["Type"] == "AWS::IAM::Role" and k.startswith(role)]
    (grant,) = [s for s in role_statements(identity, lid) if s.get("Sid") == "EncryptEndpointStorage"]
    assert grant["Action"] == "kms:CreateGrant"
    assert grant["Condition"] == {"Bool": {"kms:GrantIsForAWSResource": "true"}}
    assert "PlatformKey" in grant["Resource"]["Fn::ImportValue"]


def test_the_deployer_asset_holds_the_deploy_and_edge_deployer_code_only(synthesized):
    """The function's code: what the handler imports, nothing else (no model code, no pandas, no CDK)."""
    _, fn = _one(synthesized.template("dev", "serving").to_json(), "AWS::Lambda::Function")
    key = fn["Properties"]["Code"]["S3Key"]
    (folder,) = synthesized.outdir.glob(f"asset.{key.removesuffix('.zip')}")
    files = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*.py"))
    deploy = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "pipeline_code" / "deploy").glob("*.py"))
    edge = ["pipeline_code/edge/__init__.py", "pipeline_code/edge/deployer.py", "pipeline_code/edge/recipe.py"]
    assert files == sorted(["pipeline_code/__init__.py", *deploy, *edge])
    probe = "import pipeline_code.deploy.handler as h, sys; assert 'pandas' not in sys.modules; print(h.EDGE)"
    run = subprocess.run([sys.executable, "-c", probe], cwd=folder, capture_output=True, text=True, check=False)
    assert run.returncode == 0 and run.stdout.strip() == EDGE, run.stderr
