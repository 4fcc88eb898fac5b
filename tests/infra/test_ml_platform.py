"""The MlPlatform stack: the adherence pipeline rendered from the DAG, its assets, the model package groups, the
feature group generated from the data contract, and retraining triggers whose role can start that pipeline only."""

from __future__ import annotations

import json
import re

import pytest

from pipeline_code.adherence.ingest.records import EVENT_TIME, RECORD_IDENTIFIER, feature_definitions
from pipeline_code.adherence.specs import DEFINITION
from pipeline_code.dag import assemble
from pipeline_code.dag.sagemaker import walk_steps
from pipeline_code.intent.specs import DEFINITION as INTENT
from stacks.ml_platform import INTENT_IMAGE_CONTEXT, ROOT, STEP_IMAGE_CONTEXT
from tests.infra.policy_eval import decision, role_statements

STAGES = ("dev", "staging", "prod", "sandbox")


def _resources(template: dict, resource_type: str) -> dict[str, dict]:
    return {k: r for k, r in template["Resources"].items() if r["Type"] == resource_type}


def _one(template: dict, resource_type: str) -> tuple[str, dict]:
    (item,) = _resources(template, resource_type).items()
    return item


def _pipeline(template: dict, model: str) -> tuple[str, dict]:
    """The ``AWS::SageMaker::Pipeline`` of ``model`` (``Adherence``, ``Intent``), by its construct path."""
    (item,) = [(k, r) for k, r in _resources(template, "AWS::SageMaker::Pipeline").items() if k.startswith(model)]
    return item


def _as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def _flatten(value) -> str:
    """A CloudFormation string expression as text, each intrinsic replaced by a placeholder (for JSON parsing)."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and "Fn::Join" in value:
        sep, parts = value["Fn::Join"]
        return sep.join(_flatten(p) for p in parts)
    return "TOKEN"


@pytest.fixture(scope="module")
def templates(synthesized) -> dict[str, dict]:
    return {stage: synthesized.template(stage, "ml_platform").to_json() for stage in STAGES}


@pytest.fixture(scope="module")
def dev(templates) -> dict:
    return templates["dev"]


@pytest.fixture(scope="module")
def definition(dev) -> dict:
    _, pipeline = _pipeline(dev, "Adherence")
    return json.loads(_flatten(pipeline["Properties"]["PipelineDefinition"]["PipelineDefinitionBody"]))


@pytest.mark.parametrize("stage", STAGES)
def test_every_stage_has_the_pipeline_feature_group_model_groups_and_a_trigger(templates, stage) -> None:
    template = templates[stage]
    names = {r["Properties"]["PipelineName"] for r in _resources(template, "AWS::SageMaker::Pipeline").values()}
    assert len(_resources(template, "AWS::SageMaker::FeatureGroup")) == 1
    groups = {
        r["Properties"]["ModelPackageGroupName"]
        for r in _resources(template, "AWS::SageMaker::ModelPackageGroup").values()
    }
    prefix = "mlops-sbx-developer" if stage == "sandbox" else f"mlops-{stage}"
    assert groups == {f"{prefix}-adherence", f"{prefix}-intent"} == names
    assert len(_resources(template, "AWS::Events::Rule")) == 1


def test_the_embedded_definition_is_the_rendered_adherence_plan(definition, dev) -> None:
    plan = assemble(DEFINITION)
    names = [s["Name"] for s in walk_steps(definition)]
    assert names == [*plan.order, "QualityGate", "Adherence-RegisterModel", "QualityGateFailed"]
    _, pipeline = _pipeline(dev, "Adherence")
    props = pipeline["Properties"]
    assert props["PipelineName"] == "mlops-dev-adherence"
    assert props["RoleArn"] == {
        "Fn::ImportValue": "Dev-Identity:ExportsOutputFnGetAttSageMakerExecutionRoleE9F94E59ArnD9A5E8B6"
    } or "Identity" in json.dumps(props["RoleArn"])
    ingest = next(s for s in walk_steps(definition) if s["Name"] == "AdherenceIngest")
    args = ingest["Arguments"]["AppSpecification"]["ContainerArguments"]
    assert '"feature_group_name":"mlops-dev-adherence-features"' in json.dumps(args).replace("\\", "")
    register = next(s for s in walk_steps(definition) if s["Type"] == "RegisterModel")
    assert register["Arguments"]["ModelPackageGroupName"] == "mlops-dev-adherence"
    assert definition["PipelineExperimentConfig"]["ExperimentName"] == "mlops-dev-adherence"


def test_the_definition_uses_the_stage_key_and_buckets(dev) -> None:
    _, pipeline = _pipeline(dev, "Adherence")
    body = json.dumps(pipeline["Properties"]["PipelineDefinition"])
    assert "PlatformKey" in body and "PipelineArtifactsBucket" in body and "RawDataBucket" in body
    assert "container-assets" in body  # the step image from the CDK image asset


def test_instance_types_come_from_the_stage_config(templates) -> None:
    for stage, training in (("dev", "ml.m5.large"), ("prod", "ml.m5.xlarge")):
        _, pipeline = _pipeline(templates[stage], "Adherence")
        body = json.loads(_flatten(pipeline["Properties"]["PipelineDefinition"]["PipelineDefinitionBody"]))
        params = {p["Name"]: p["DefaultValue"] for p in body["Parameters"]}
        assert params["AdherenceTrainInstanceType"] == training
        assert params["AdherenceValidateInstanceType"] == "ml.m5.large"


def test_feature_group_is_generated_from_the_contract_with_the_stage_key(dev) -> None:
    _, group = _one(dev, "AWS::SageMaker::FeatureGroup")
    props = group["Properties"]
    assert props["FeatureDefinitions"] == [d.to_dict() for d in feature_definitions()]
    assert props["RecordIdentifierFeatureName"] == RECORD_IDENTIFIER == "encounter_id"
    assert props["EventTimeFeatureName"] == EVENT_TIME
    offline = props["OfflineStoreConfig"]
    assert "PlatformKey" in json.dumps(offline["S3StorageConfig"]["KmsKeyId"])
    assert "ProcessedFeaturesBucket" in json.dumps(offline["S3StorageConfig"]["S3Uri"])
    assert offline["DisableGlueTableCreation"] is True
    assert "OnlineStoreConfig" not in props  # off in dev: it bills storage and requests


def test_online_store_is_switched_on_per_stage_with_the_stage_key(templates) -> None:
    _, group = _one(templates["prod"], "AWS::SageMaker::FeatureGroup")
    online = group["Properties"]["OnlineStoreConfig"]
    assert online["EnableOnlineStore"] is True and "PlatformKey" in json.dumps(online["SecurityConfig"])


@pytest.mark.parametrize(("stage", "policy"), [("dev", "Retain"), ("prod", "Retain"), ("sandbox", "Delete")])
def test_registry_and_features_are_retained_outside_the_sandbox(templates, stage, policy) -> None:
    for resource_type in ("AWS::SageMaker::ModelPackageGroup", "AWS::SageMaker::FeatureGroup"):
        for resource in _resources(templates[stage], resource_type).values():
            assert resource["DeletionPolicy"] == policy == resource["UpdateReplacePolicy"]


def test_new_raw_data_starts_the_pipeline(dev, synthesized) -> None:
    _, rule = _one(dev, "AWS::Events::Rule")
    pattern = rule["Properties"]["EventPattern"]
    assert pattern["source"] == ["aws.s3"] and pattern["detail-type"] == ["Object Created"]
    assert pattern["detail"]["object"]["key"] == [{"prefix": "adherence/"}]
    assert "RawDataBucket" in json.dumps(pattern["detail"]["bucket"])
    (target,) = rule["Properties"]["Targets"]
    assert ":pipeline/mlops-dev-adherence" in json.dumps(target["Arn"])
    data = synthesized.template("dev", "data").to_json()
    raw = data["Resources"]["RawDataBucket0AE59F17"]["Properties"]
    assert raw["NotificationConfiguration"] == {"EventBridgeConfiguration": {"EventBridgeEnabled": True}}
    others = [k for k, r in _resources(data, "AWS::S3::Bucket").items() if k != "RawDataBucket0AE59F17"]
    assert all("NotificationConfiguration" not in data["Resources"][k]["Properties"] for k in others)
    assert not _resources(data, "Custom::S3BucketNotifications")  # no notification Lambda in the stateful stack


def test_the_schedule_is_off_in_dev_and_on_in_prod(templates) -> None:
    assert not _resources(templates["dev"], "AWS::Scheduler::Schedule")
    _, schedule = _one(templates["prod"], "AWS::Scheduler::Schedule")
    props = schedule["Properties"]
    assert props["ScheduleExpression"] == "cron(0 3 ? * MON *)" and props["State"] == "ENABLED"
    assert ":pipeline/mlops-prod-adherence" in json.dumps(props["Target"]["Arn"])


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_trigger_role_may_only_start_this_pipeline(templates, synthesized, stage) -> None:
    template = templates[stage]
    (role_id,) = [k for k in _resources(template, "AWS::IAM::Role") if k.startswith("AdherenceRetrainingTriggerRole")]
    statements = role_statements(template, role_id)
    assert len(statements) == 1
    (statement,) = statements
    assert statement["Action"] == "sagemaker:StartPipelineExecution" and statement["Effect"] == "Allow"
    assert f":pipeline/mlops-{stage}-adherence" in json.dumps(statement["Resource"])
    assert "*" not in json.dumps(statement["Resource"])
    role = template["Resources"][role_id]["Properties"]
    trust = role["AssumeRolePolicyDocument"]["Statement"]
    principals = sorted(p for s in trust for p in _as_list(s["Principal"]["Service"]))
    assert principals == ["events.amazonaws.com", "scheduler.amazonaws.com"]
    for trust in role["AssumeRolePolicyDocument"]["Statement"]:
        assert "aws:SourceAccount" in trust["Condition"]["StringEquals"]
    assert "PermissionsBoundary" in role and role["Path"] == f"/mlops/{stage}/"
    guardrails = synthesized.template(stage, "guardrails").to_json()
    (_, boundary) = _one(guardrails, "AWS::IAM::ManagedPolicy")
    bounds = boundary["Properties"]["PolicyDocument"]["Statement"]
    for action in ("sagemaker:CreateTrainingJob", "sagemaker:DeletePipeline", "s3:GetObject", "iam:PassRole"):
        assert decision(action, statements, bounds) != "allow", action


def test_sagemaker_role_reads_exactly_the_code_asset(dev) -> None:
    (policy,) = [
        r for k, r in _resources(dev, "AWS::IAM::ManagedPolicy").items() if k.startswith("AdherencePipelineCodeAccess")
    ]
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    assert [s["Action"] for s in statements] == ["s3:GetObject", "s3:ListBucket"]
    text = json.dumps(statements)
    assert "*" not in text and ".zip" in text
    assert statements[1]["Condition"]["StringEquals"]["s3:prefix"][0].endswith(".zip")


def test_assets_step_image_from_the_repo_dockerfile_code_as_a_zip(synthesized) -> None:
    manifests = list(synthesized.outdir.glob("assembly-Dev/DevMlPlatform*.assets.json"))
    (manifest_path,) = manifests
    manifest = json.loads(manifest_path.read_text())
    images = {i["source"]["dockerFile"]: i for i in manifest["dockerImages"].values()}
    assert sorted(images) == ["docker/intent/Dockerfile", "docker/steps/Dockerfile"]
    image = images["docker/steps/Dockerfile"]
    staged = (manifest_path.parent / image["source"]["directory"]).resolve()
    files = sorted(p.relative_to(staged).as_posix() for p in staged.rglob("*") if p.is_file())
    assert files == [
        "constraints.txt",
        "docker/steps/Dockerfile",
        "docker/steps/bootstrap.py",
        "requirements-pipeline.txt",
    ]
    assert STEP_IMAGE_CONTEXT[0] == "*"
    code = [f for f in manifest["files"].values() if f["source"].get("packaging") == "zip"]
    assert len(code) == 1
    staged_code = (manifest_path.parent / code[0]["source"]["path"]).resolve()
    assert (staged_code / "dag" / "container.py").is_file() and not list(staged_code.rglob("__pycache__"))


def test_job_volumes_can_use_the_stage_key_through_sagemaker_grants_only(synthesized) -> None:
    data = synthesized.template("dev", "data").to_json()
    (_, key) = _one(data, "AWS::KMS::Key")
    statements = {s["Sid"]: s for s in key["Properties"]["KeyPolicy"]["Statement"]}
    grants = statements["GrantsForSageMakerResources"]
    assert sorted(_as_list(grants["Action"])) == ["kms:CreateGrant", "kms:DescribeKey"]
    assert grants["Condition"]["Bool"] == {"kms:GrantIsForAWSResource": "true"}
    assert "sagemaker." in json.dumps(grants["Condition"]["StringEquals"]["kms:ViaService"])
    identity = synthesized.template("dev", "identity").to_json()
    role_policy = json.dumps(identity)
    assert '"Sid": "EncryptJobVolumes"' in role_policy or "EncryptJobVolumes" in role_policy
    (statement,) = [
        s
        for r in _resources(identity, "AWS::IAM::ManagedPolicy").values()
        for s in r["Properties"]["PolicyDocument"]["Statement"]
        if s.get("Sid") == "EncryptJobVolumes"
    ]
    assert statement["Action"] == "kms:CreateGrant"
    assert statement["Condition"] == {"Bool": {"kms:GrantIsForAWSResource": "true"}}


def test_the_sdk_config_learns_the_pipeline_and_feature_group(dev) -> None:
    outputs = dev["Outputs"]
    assert outputs["AdherencePipelineName"]["Value"] == "mlops-dev-adherence"
    assert outputs["AdherencePipelineName"]["Export"]["Name"] == "mlops-dev:AdherencePipelineName"
    assert outputs["AdherenceFeatureGroupName"]["Value"] == "mlops-dev-adherence-features"


# -- the intent pipeline ----------------------------------------------------------------------------------------


def _intent_definition(template: dict) -> dict:
    _, pipeline = _pipeline(template, "Intent")
    return json.loads(_flatten(pipeline["Properties"]["PipelineDefinition"]["PipelineDefinitionBody"]))


@pytest.mark.parametrize("stage", STAGES)
def test_every_stage_has_the_intent_pipeline_rendered_from_the_intent_plan(templates, stage) -> None:
    definition = _intent_definition(templates[stage])
    plan = assemble(INTENT)
    names = [s["Name"] for s in walk_steps(definition)]
    assert names == [*plan.order, "QualityGate", "Intent-RegisterModel", "QualityGateFailed"]
    prefix = "mlops-sbx-developer" if stage == "sandbox" else f"mlops-{stage}"
    register = next(s for s in walk_steps(definition) if s["Type"] == "RegisterModel")
    assert register["Arguments"]["ModelPackageGroupName"] == f"{prefix}-intent"
    assert definition["PipelineExperimentConfig"]["ExperimentName"] == f"{prefix}-intent"
    _, pipeline = _pipeline(templates[stage], "Intent")
    group_key = next(
        k
        for k, r in _resources(templates[stage], "AWS::SageMaker::ModelPackageGroup").items()
        if r["Properties"]["ModelPackageGroupName"] == f"{prefix}-intent"
    )
    assert group_key in _as_list(pipeline["DependsOn"])


def test_every_intent_job_runs_the_intent_image_and_adherence_jobs_the_step_image(dev, synthesized) -> None:
    (manifest_path,) = synthesized.outdir.glob("assembly-Dev/DevMlPlatform*.assets.json")
    tags = {i["source"]["dockerFile"]: h for h, i in json.loads(manifest_path.read_text())["dockerImages"].items()}
    intent_tag, step_tag = tags["docker/intent/Dockerfile"], tags["docker/steps/Dockerfile"]
    assert intent_tag != step_tag
    intent_raw = json.dumps(_pipeline(dev, "Intent")[1]["Properties"]["PipelineDefinition"])
    adherence_raw = json.dumps(_pipeline(dev, "Adherence")[1]["Properties"]["PipelineDefinition"])
    jobs = [s for s in walk_steps(_intent_definition(dev)) if s["Type"] in ("Processing", "Training")]
    assert len(jobs) == len(assemble(INTENT).steps)
    # every job and the registered model's container name the intent image, and nothing names the step image
    assert intent_raw.count(f":{intent_tag}") == len(jobs) + 1 and step_tag not in intent_raw
    assert adherence_raw.count(f":{step_tag}") >= 1 and intent_tag not in adherence_raw


def test_intent_inputs_and_instance_types_come_from_the_stage_config(templates) -> None:
    for stage, training in (("dev", "ml.m5.large"), ("prod", "ml.m5.xlarge"), ("staging", "ml.m5.large")):
        definition = _intent_definition(templates[stage])
        params = {p["Name"]: p["DefaultValue"] for p in definition["Parameters"]}
        assert params["IntentTrainInstanceType"] == training
        assert params["IntentValidateInstanceType"] == "ml.m5.large"
        for split in ("Train", "Valid", "Test"):
            assert params[f"{split}CsvUri"] == f"s3://TOKEN/intent/{split.lower()}.csv"
        _, pipeline = _pipeline(templates[stage], "Intent")
        assert "RawDataBucket" in json.dumps(pipeline["Properties"]["PipelineDefinition"])


def test_the_sdk_config_learns_the_intent_pipeline(templates) -> None:
    outputs = templates["dev"]["Outputs"]
    assert outputs["IntentPipelineName"]["Value"] == "mlops-dev-intent"
    assert outputs["IntentPipelineName"]["Export"]["Name"] == "mlops-dev:IntentPipelineName"


def test_intent_image_context_and_torch_build_argument(synthesized) -> None:
    (manifest_path,) = synthesized.outdir.glob("assembly-Dev/DevMlPlatform*.assets.json")
    manifest = json.loads(manifest_path.read_text())
    (image,) = [i for i in manifest["dockerImages"].values() if i["source"]["dockerFile"] == "docker/intent/Dockerfile"]
    staged = (manifest_path.parent / image["source"]["directory"]).resolve()
    files = sorted(p.relative_to(staged).as_posix() for p in staged.rglob("*") if p.is_file())
    assert files == [
        "constraints.txt",
        "docker/intent/Dockerfile",
        "docker/steps/bootstrap.py",
        "requirements-intent.txt",
        "requirements-pipeline.txt",
    ]
    assert INTENT_IMAGE_CONTEXT[0] == "*"
    # The image's default torch is the pinned version without its +cpu local part (PyPI serves no +cpu wheel).
    dockerfile = (ROOT / "docker/intent/Dockerfile").read_text()
    (default,) = re.findall(r"^ARG TORCH_REQUIREMENT=(\S+)$", dockerfile, flags=re.M)
    (pin,) = [
        line for line in (ROOT / "requirements-intent.txt").read_text().splitlines() if line.startswith("torch==")
    ]
    (constraint,) = [line for line in (ROOT / "constraints.txt").read_text().splitlines() if line.startswith("torch==")]
    assert pin == constraint
    assert default == pin.split("+")[0] and "+" not in default
    assert 'ENTRYPOINT ["python3", "/opt/mlops/bootstrap.py"]' in dockerfile


def test_intent_pipeline_code_access_reads_the_same_code_asset(dev) -> None:
    policies = {
        k: r["Properties"]["PolicyDocument"]["Statement"]
        for k, r in _resources(dev, "AWS::IAM::ManagedPolicy").items()
        if "PipelineCodeAccess" in k
    }
    assert len(policies) == 2
    adherence, intent = (next(v for k, v in policies.items() if k.startswith(m)) for m in ("Adherence", "Intent"))
    assert adherence == intent
