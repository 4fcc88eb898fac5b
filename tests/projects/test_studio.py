"""The Studio domain: off by default, VPC-only, EFS under the stage key, persona profiles with source identity.

The shipped configs keep the domain off (EFS storage and apps bill), so these tests synthesize one extra stage: dev's
config with ``studio`` enabled in a VPC (about 15 s, once for the module).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from aws_cdk.assertions import Template
from hypothesis import given
from hypothesis import strategies as st

import app as cdk_app
from stacks.nag import nag_errors
from stacks.settings import ConfigError, parse_stage_settings
from stacks.studio import PERSONA_PROFILES, SOURCE_IDENTITY

ROOT = Path(__file__).resolve().parents[2]
VPC = {
    "enabled": True,
    "vpc_id": "vpc-0123456789abcdef0",
    "subnet_ids": ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"],
    "security_group_ids": ["sg-0123456789abcdef0"],
}


def _dev(**overrides):
    raw = yaml.safe_load((ROOT / "config" / "dev.yaml").read_text())
    return {**raw, **overrides}


@pytest.fixture(scope="module")
def studio_stage(tmp_path_factory):
    app = cdk_app.new_app(outdir=str(tmp_path_factory.mktemp("studio")))
    (stage,) = cdk_app.build_app(app, [parse_stage_settings(_dev(studio=VPC), source="test")])
    findings = nag_errors(app.synth())
    return stage, findings


def _resources(template: dict, kind: str) -> dict[str, dict]:
    return {k: r for k, r in template["Resources"].items() if r["Type"] == kind}


@pytest.mark.parametrize("stage", ["dev", "staging", "prod", "sandbox"])
def test_the_shipped_configs_keep_the_domain_off(synthesized, stage):
    assert synthesized.stages[stage].studio is None
    assert not any(s.node.id == "Studio" for s in synthesized.stacks(stage))


def test_the_domain_stage_has_zero_nag_findings(studio_stage):
    _, findings = studio_stage
    assert findings == [], "\n".join(map(str, findings))


def test_domain_is_vpc_only_with_iam_auth_and_the_stage_key_on_its_volume(studio_stage):
    stage, _ = studio_stage
    template = Template.from_stack(stage.studio).to_json()
    (domain,) = _resources(template, "AWS::SageMaker::Domain").values()
    props = domain["Properties"]
    assert props["AppNetworkAccessType"] == "VpcOnly"
    assert props["AuthMode"] == "IAM"
    assert props["VpcId"] == VPC["vpc_id"]
    assert props["SubnetIds"] == VPC["subnet_ids"]
    assert "PlatformKey" in json.dumps(props["KmsKeyId"])  # the data foundation's key, imported
    assert props["DomainSettings"]["ExecutionRoleIdentityConfig"] == SOURCE_IDENTITY
    assert domain["DeletionPolicy"] == "Retain"


def test_profiles_run_as_the_persona_roles(studio_stage):
    stage, _ = studio_stage
    template = Template.from_stack(stage.studio).to_json()
    profiles = _resources(template, "AWS::SageMaker::UserProfile")
    assert {p["Properties"]["UserProfileName"] for p in profiles.values()} == set(PERSONA_PROFILES.values())
    roles = {
        p["Properties"]["UserProfileName"]: json.dumps(p["Properties"]["UserSettings"]["ExecutionRole"])
        for p in profiles.values()
    }
    assert "DataScientistRole" in roles["data-scientist"]
    assert "MlEngineerRole" in roles["ml-engineer"]


def test_persona_roles_trust_sagemaker_to_set_the_source_identity(studio_stage):
    stage, _ = studio_stage
    identity = Template.from_stack(stage.identity).to_json()
    for name in ("DataScientistRole", "MlEngineerRole"):
        (role,) = [r for k, r in _resources(identity, "AWS::IAM::Role").items() if k.startswith(name)]
        statements = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
        (studio,) = [s for s in statements if s.get("Sid") == "StudioRunsThisPersonasProfile"]
        assert studio["Principal"] == {"Service": "sagemaker.amazonaws.com"}
        assert set(studio["Action"]) == {"sts:AssumeRole", "sts:SetSourceIdentity"}
        assert studio["Condition"] == {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}


def test_the_default_execution_role_only_describes_this_domain(studio_stage):
    stage, _ = studio_stage
    template = Template.from_stack(stage.studio).to_json()
    (policy,) = _resources(template, "AWS::IAM::ManagedPolicy").values()
    (statement,) = policy["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Action"] == ["sagemaker:DescribeDomain", "sagemaker:DescribeUserProfile"]
    assert "*" not in json.dumps(statement["Resource"])
    (role,) = _resources(template, "AWS::IAM::Role").values()
    assert "PermissionsBoundary" in role["Properties"]
    trust = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert {"sts:AssumeRole", "sts:SetSourceIdentity"} == {s["Action"] for s in trust}


def test_the_key_lets_efs_and_sagemaker_of_this_account_use_it_for_the_volume(studio_stage):
    stage, _ = studio_stage
    data = Template.from_stack(stage.data).to_json()
    (key,) = _resources(data, "AWS::KMS::Key").values()
    statements = key["Properties"]["KeyPolicy"]["Statement"]
    (statement,) = [s for s in statements if s.get("Sid") == "StudioHomeVolumeThroughEfsAndSageMaker"]
    via = json.dumps(statement["Condition"]["StringEquals"]["kms:ViaService"])
    assert "elasticfilesystem." in via and "sagemaker." in via


def test_a_stage_without_a_vpc_must_name_one():
    with pytest.raises(ConfigError, match=r"studio\.vpc_id: required"):
        parse_stage_settings(_dev(studio={"enabled": True}), source="dev.yaml")
    with pytest.raises(ConfigError, match=r"studio\.subnet_ids and studio\.security_group_ids"):
        parse_stage_settings(_dev(studio={"enabled": True, "vpc_id": VPC["vpc_id"]}), source="dev.yaml")


def test_a_stage_whose_jobs_run_in_a_vpc_refuses_public_internet_studio():
    ml_platform = {"subnet_ids": VPC["subnet_ids"], "security_group_ids": VPC["security_group_ids"]}
    with pytest.raises(ConfigError, match=r"studio\.public_internet"):
        parse_stage_settings(
            _dev(ml_platform=ml_platform, studio={"enabled": True, "vpc_id": VPC["vpc_id"], "public_internet": True}),
            source="dev.yaml",
        )
    # without it, the domain follows the jobs' subnets and security groups, VPC-only
    settings = parse_stage_settings(
        _dev(ml_platform=ml_platform, studio={"enabled": True, "vpc_id": VPC["vpc_id"]}), source="dev.yaml"
    )
    assert settings.studio_subnet_ids == tuple(VPC["subnet_ids"])
    assert settings.studio_network_access == "VpcOnly"


@given(public=st.booleans(), own_subnets=st.booleans(), jobs_in_vpc=st.booleans())
def test_network_access_is_vpc_only_unless_a_stage_without_a_vpc_asks(public, own_subnets, jobs_in_vpc):
    studio = {"enabled": True, "vpc_id": VPC["vpc_id"], "public_internet": public}
    if own_subnets:
        studio |= {"subnet_ids": VPC["subnet_ids"], "security_group_ids": VPC["security_group_ids"]}
    ml_platform = {"subnet_ids": ["subnet-0aaaaaaaaaaaaaaaa"], "security_group_ids": ["sg-0aaaaaaaaaaaaaaaa"]}
    raw = _dev(studio=studio, **({"ml_platform": ml_platform} if jobs_in_vpc else {}))
    if (public and jobs_in_vpc) or not (own_subnets or jobs_in_vpc):
        with pytest.raises(ConfigError):
            parse_stage_settings(raw, source="dev.yaml")
        return
    settings = parse_stage_settings(raw, source="dev.yaml")
    assert settings.studio_network_access == ("PublicInternetOnly" if public else "VpcOnly")
    assert settings.studio_subnet_ids
