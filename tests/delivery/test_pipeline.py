"""The Delivery stack on the session synth: source, synth commands, self-mutation, waves, prod gates, artefacts."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from aws_cdk import App, Stack
from aws_cdk.assertions import Template

import app as cdk_app
from stacks.delivery import RUNTIME_VERSIONS, SYNTH_COMMANDS, refuse_example_connection
from stacks.delivery_settings import EXAMPLE_CONNECTION_ARN
from stacks.settings import ConfigError

ROOT = Path(__file__).resolve().parents[2]
REAL_ARN = "arn:aws:codeconnections:eu-west-1:123456789012:connection/8f2b6c1e-3d4a-4b5c-9e7f-0a1b2c3d4e5f"


@pytest.fixture(scope="module")
def delivery(synthesized):
    assert synthesized.delivery is not None, "the session synth must include the Delivery stack"
    return synthesized.delivery


@pytest.fixture(scope="module")
def template(delivery) -> dict:
    return Template.from_stack(delivery).to_json()


def _one(template: dict, resource_type: str) -> dict:
    found = [r for r in template["Resources"].values() if r["Type"] == resource_type]
    assert len(found) == 1, f"{len(found)} {resource_type}"
    return found[0]


def _stages(template: dict) -> list[dict]:
    return _one(template, "AWS::CodePipeline::Pipeline")["Properties"]["Stages"]


def _stage(template: dict, name: str) -> dict:
    (stage,) = [s for s in _stages(template) if s["Name"] == name]
    return stage


def _project(template: dict, lid_prefix: str) -> dict:
    (project,) = [
        r
        for lid, r in template["Resources"].items()
        if r["Type"] == "AWS::CodeBuild::Project" and lid.startswith(lid_prefix)
    ]
    return project


def _buildspec(project: dict) -> dict:
    return json.loads(project["Properties"]["Source"]["BuildSpec"])


def test_waves_follow_the_config_after_source_build_self_mutation_and_assets(delivery, template):
    names = [s["Name"] for s in _stages(template)]
    waves = [target.stage.capitalize() for target in delivery.delivery.stages]
    assert waves == ["Dev", "Staging", "Prod"]
    assert names == ["Source", "Build", "UpdatePipeline", "Assets", *waves]


def test_source_is_the_configured_codeconnections_connection(delivery, template):
    (action,) = _stage(template, "Source")["Actions"]
    assert action["ActionTypeId"] == {
        "Category": "Source",
        "Owner": "AWS",
        "Provider": "CodeStarSourceConnection",
        "Version": "1",
    }
    config = action["Configuration"]
    assert config["ConnectionArn"] == delivery.delivery.connection_arn
    assert config["FullRepositoryId"] == delivery.delivery.repository
    assert config["BranchName"] == delivery.delivery.branch


def test_synth_runs_make_test_then_make_synth_with_the_pipeline_on_the_pinned_image(template):
    project = _project(template, "PipelineBuildSynthCdkBuildProject")
    spec = _buildspec(project)
    assert spec["phases"]["build"]["commands"] == ["make test", "make synth-delivery"] == list(SYNTH_COMMANDS)
    assert spec["phases"]["install"]["runtime-versions"] == RUNTIME_VERSIONS
    assert spec["artifacts"]["base-directory"] == "cdk.out"
    assert project["Properties"]["Environment"]["Image"] == "aws/codebuild/standard:7.0"
    assert project["Properties"]["Environment"]["ComputeType"] == "BUILD_GENERAL1_MEDIUM"
    assert project["Properties"]["EncryptionKey"], "build outputs encrypted with the artefact key"


def test_the_synth_commands_are_the_readmes_own():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"```bash\n\s*# the pipeline's synth step\n(.*?)```", readme, re.S)
    assert block, "README: the Delivery section lists the synth step's commands"
    lines = [line.strip() for line in block.group(1).splitlines() if line.strip()]
    assert lines == list(SYNTH_COMMANDS)
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    for command in SYNTH_COMMANDS:
        assert re.search(rf"^{command.split()[1]}:", makefile, re.M), f"Makefile has no {command!r} target"


def test_self_mutation_deploys_this_stack_with_the_pinned_cli(delivery, template):
    (action,) = _stage(template, "UpdatePipeline")["Actions"]
    assert action["Name"] == "SelfMutate"
    spec = _buildspec(_project(template, "PipelineUpdatePipelineSelfMutation"))
    version = json.loads((ROOT / "package.json").read_text())["devDependencies"]["aws-cdk"]
    assert spec["phases"]["install"]["commands"] == [f"npm install -g aws-cdk@{version}"]
    assert spec["phases"]["build"]["commands"] == [
        f"cdk -a . deploy {delivery.node.path} --require-approval=never --verbose"
    ]
    assert _one(template, "AWS::CodePipeline::Pipeline")["Properties"]["RestartExecutionOnUpdate"] is True


def _actions_by_name(stage: dict) -> dict[str, dict]:
    return {a["Name"]: a for a in stage["Actions"]}


def test_prod_waits_for_an_approval_then_a_change_set_review_of_every_stack(delivery, template):
    prod = _actions_by_name(_stage(template, "Prod"))
    approval = prod["PromoteToProd"]
    assert approval["ActionTypeId"]["Category"] == "Approval"
    stacks = [s.node.id for s in delivery.stages[-1].node.children if isinstance(s, Stack)]
    assert len(stacks) >= 8
    for stack in stacks:
        prepare, review, execute = (
            prod[f"{stack}.Prepare"],
            prod[f"{stack}.Review{stack}ChangeSet"],
            prod[f"{stack}.Deploy"],
        )
        assert prepare["Configuration"]["ActionMode"] == "CHANGE_SET_REPLACE"
        assert review["ActionTypeId"]["Category"] == "Approval"
        assert execute["Configuration"]["ActionMode"] == "CHANGE_SET_EXECUTE"
        assert approval["RunOrder"] < prepare["RunOrder"] < review["RunOrder"] < execute["RunOrder"], stack
    # nothing executes in prod before the approval
    assert min(a["RunOrder"] for a in prod.values()) == approval["RunOrder"]
    assert [n for n, a in prod.items() if a["RunOrder"] == approval["RunOrder"]] == ["PromoteToProd"]


@pytest.mark.parametrize("wave", ["Dev", "Staging"])
def test_lower_waves_deploy_without_approval(template, wave):
    actions = _stage(template, wave)["Actions"]
    assert actions and all(a["ActionTypeId"]["Category"] == "Deploy" for a in actions)


@pytest.mark.parametrize("wave", ["Dev", "Staging", "Prod"])
def test_each_wave_deploys_into_its_configured_account(delivery, template, wave):
    target = next(t for t in delivery.delivery.stages if t.stage == wave.lower())
    stage = next(s for s in delivery.stages if s.node.id == wave)
    deploys = [a for a in _stage(template, wave)["Actions"] if a["ActionTypeId"]["Category"] == "Deploy"]
    assert len(deploys) == 2 * len([s for s in stage.node.children if isinstance(s, Stack)])  # prepare + execute
    for action in deploys:
        assert f":iam::{target.account}:role/cdk-hnb659fds-deploy-role-{target.account}-" in json.dumps(
            action["RoleArn"]
        )
    others = {t.account for t in delivery.delivery.stages} - {target.account}
    assert not any(account in json.dumps(deploys) for account in others)


def test_the_waves_are_mlops_stages_with_the_configured_accounts(delivery):
    from stacks.stage import MlopsStage

    for stage, target in zip(delivery.stages, delivery.delivery.stages, strict=True):
        assert isinstance(stage, MlopsStage)
        assert stage.settings.stage == target.stage and stage.settings.account == target.account
        assert {s.account for s in stage.node.children if isinstance(s, Stack)} == {target.account}


def test_artefacts_are_kms_encrypted_with_rotated_keys_and_versioned(delivery, template):
    stores = _one(template, "AWS::CodePipeline::Pipeline")["Properties"]["ArtifactStores"]
    assert {s["Region"] for s in stores} == {"us-east-1", "us-west-2"}
    for store in stores:
        assert store["ArtifactStore"]["EncryptionKey"]["Type"] == "KMS"
    support = delivery.support_stacks()
    assert len(support) == 1
    for stack_template in (template, Template.from_stack(support[0]).to_json()):
        keys = [r for r in stack_template["Resources"].values() if r["Type"] == "AWS::KMS::Key"]
        assert keys and all(k["Properties"]["EnableKeyRotation"] is True for k in keys)
        bucket = _one(stack_template, "AWS::S3::Bucket")["Properties"]
        assert bucket["VersioningConfiguration"] == {"Status": "Enabled"}
        assert (
            bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"][
                "SSEAlgorithm"
            ]
            == "aws:kms"
        )
        assert bucket["PublicAccessBlockConfiguration"]["RestrictPublicBuckets"] is True
        (rule,) = bucket["LifecycleConfiguration"]["Rules"]
        assert rule["NoncurrentVersionExpiration"]["NoncurrentDays"] == 30


def test_pipeline_roles_hold_managed_policies_only_and_actions_use_the_pipeline_role(template):
    resources = template["Resources"]
    assert not [r for r in resources.values() if r["Type"] == "AWS::IAM::Policy"]
    roles = {lid for lid, r in resources.items() if r["Type"] == "AWS::IAM::Role"}
    attached = {
        role["Ref"]
        for r in resources.values()
        if r["Type"] == "AWS::IAM::ManagedPolicy"
        for role in r["Properties"]["Roles"]
    }
    assert roles == attached and len(roles) == 5  # pipeline, synth, self-mutation, file and Docker publishing
    pipeline_role = _one(template, "AWS::CodePipeline::Pipeline")["Properties"]["RoleArn"]
    for stage in _stages(template):
        for action in stage["Actions"]:
            if "RoleArn" in action and "Fn::GetAtt" in action["RoleArn"]:
                assert action["RoleArn"] == pipeline_role, action["Name"]


def test_the_pipeline_is_a_v2_pipeline_that_does_not_overlap_runs(template):
    props = _one(template, "AWS::CodePipeline::Pipeline")["Properties"]
    assert props["PipelineType"] == "V2"
    assert props.get("ExecutionMode", "SUPERSEDED") == "SUPERSEDED"


def _evaluate(condition) -> bool:
    """CloudFormation's rule functions this stack uses, on literals."""
    (name, args), *_ = condition.items()
    if name == "Fn::Not":
        return not _evaluate(args[0])
    if name == "Fn::Contains":
        return args[1] in args[0]
    if name == "Fn::Equals":
        return args[0] == args[1]
    raise AssertionError(f"unexpected rule function {name}")


def test_the_shipped_example_connection_is_refused_by_a_template_rule(delivery, template):
    assert delivery.delivery.connection_arn == EXAMPLE_CONNECTION_ARN
    (assertion,) = template["Rules"]["RefuseExampleConnection"]["Assertions"]
    assert _evaluate(assertion["Assert"]) is False
    assert "example CodeConnections ARN" in assertion["AssertDescription"]
    assert "connection_arn" in assertion["AssertDescription"]


def test_a_real_connection_passes_the_rule():
    stack = Stack(App(), "Probe")
    refuse_example_connection(stack, REAL_ARN)
    (assertion,) = Template.from_stack(stack).to_json()["Rules"]["RefuseExampleConnection"]["Assertions"]
    assert _evaluate(assertion["Assert"]) is True


def test_delivery_resources_carry_the_cost_tags(delivery, template):
    tagged = [r for r in template["Resources"].values() if "Tags" in r.get("Properties", {})]
    assert tagged
    for resource in tagged:
        tags = {t["Key"]: t["Value"] for t in resource["Properties"]["Tags"]}
        assert tags["stage"] == "tooling" and tags["project"] == "mlops" and tags["owner"]


def test_the_gate_bites_on_the_delivery_stack_and_its_support_stack(tmp_path):
    """A non-compliant bucket in either fails the synth: the packs reach them (they are outside every stage)."""
    import yaml
    from aws_cdk import aws_s3 as s3

    import app as cdk_app
    from stacks.delivery_settings import parse_delivery_settings
    from stacks.nag import nag_errors

    raw = yaml.safe_load((ROOT / "config" / "delivery.yaml").read_text())
    only_dev = parse_delivery_settings({**raw, "stages": raw["stages"][:1]}, source="delivery.yaml")
    app = cdk_app.new_app(outdir=str(tmp_path))
    stack = cdk_app.build_delivery(app, only_dev, [cdk_app.load_stage_settings("dev")])
    s3.Bucket(stack, "RogueBucket")
    s3.Bucket(stack.support_stacks()[0], "RogueSupportBucket")
    paths = {finding.path.split("/")[2] for finding in nag_errors(app.synth())}
    assert paths == {"RogueBucket", "RogueSupportBucket"}


def test_make_synth_delivery_selects_every_stage_the_pipeline_deploys_and_asks_for_it(delivery):
    """app.py builds the Delivery stack with -c delivery=true when all its stages are selected: `make
    synth-delivery` (the pipeline's synth step) does both; `make synth` leaves the pipeline out (opt-in)."""
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    (default,) = re.findall(r"^STAGES \?= (\S+)$", makefile, re.M)
    assert set(delivery.delivery.stage_names) <= set(default.split(","))
    recipe = makefile[makefile.index("\nsynth-delivery:") :].split("\n\n")[0]
    assert "-c stages=$(STAGES)" in recipe and "-c delivery=true" in recipe
    assert "delivery" not in makefile[makefile.index("\nsynth:") :].split("\n\n")[0].split("##", 1)[1]


@pytest.mark.parametrize(
    ("value", "expected"), [(None, False), ("false", False), ("0", False), ("true", True), ("1", True), (True, True)]
)
def test_the_pipeline_is_opt_in(value, expected):
    app = cdk_app.new_app()
    if value is not None:
        app.node.set_context("delivery", value)
    assert cdk_app.delivery_requested(app) is expected


def test_a_wrong_delivery_flag_is_a_config_error():
    app = cdk_app.new_app()
    app.node.set_context("delivery", "yes please")
    with pytest.raises(ConfigError, match="-c delivery"):
        cdk_app.delivery_requested(app)


def test_pipeline_roles_are_assumed_by_their_service_only(template):
    services = {}
    for lid, resource in template["Resources"].items():
        if resource["Type"] == "AWS::IAM::Role":
            (statement,) = resource["Properties"]["AssumeRolePolicyDocument"]["Statement"]
            assert statement["Action"] == "sts:AssumeRole" and set(statement["Principal"]) == {"Service"}, lid
            services[lid] = statement["Principal"]["Service"]
    assert sorted(services.values()) == ["codebuild.amazonaws.com"] * 4 + ["codepipeline.amazonaws.com"]


def test_every_build_logs_to_one_encrypted_log_group_kept_a_year(template):
    (lid,) = [lid for lid, r in template["Resources"].items() if r["Type"] == "AWS::Logs::LogGroup"]
    group = template["Resources"][lid]["Properties"]
    assert group["LogGroupName"] == "/aws/codebuild/mlops-platform" and group["RetentionInDays"] == 365
    assert group["KmsKeyId"]["Fn::GetAtt"][0].startswith("PipelineArtifactsBucketEncryptionKey")
    projects = [r for r in template["Resources"].values() if r["Type"] == "AWS::CodeBuild::Project"]
    streams = set()
    for project in projects:
        logs = project["Properties"]["LogsConfig"]["CloudWatchLogs"]
        assert logs["Status"] == "ENABLED" and logs["GroupName"] == {"Ref": lid}
        streams.add(logs["StreamName"])
    assert streams == {"Synth", "SelfMutation", "FileAsset", "DockerAsset"}
    key = next(r for k, r in template["Resources"].items() if k == group["KmsKeyId"]["Fn::GetAtt"][0])
    (logs_statement,) = [
        s for s in key["Properties"]["KeyPolicy"]["Statement"] if s.get("Sid") == "EncryptionOfBuildLogs"
    ]
    assert logs_statement["Principal"] == {"Service": "logs.us-east-1.amazonaws.com"}
    assert logs_statement["Condition"]["ArnEquals"]["kms:EncryptionContext:aws:logs:arn"].endswith(
        ":log-group:/aws/codebuild/mlops-platform"
    )
