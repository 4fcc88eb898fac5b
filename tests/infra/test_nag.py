"""The cdk-nag gate: zero unsuppressed findings, few and precise suppressions, and proof the gate bites."""

from __future__ import annotations

from aws_cdk import Stack, Stage
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Template

import app as cdk_app
from scripts.platform_report import rule_family as _rule_family
from stacks.nag import apply_nag_packs, nag_errors

MAX_SUPPRESSIONS = 15
# The only suppressions beyond MAX_SUPPRESSIONS: findings on resources CDK Pipelines generates for the Delivery stack
# and its cross-region support stack that the platform cannot shape (one rule family on one resource each; the
# reasons are in stacks/delivery.py). (stack, logical ID prefix, rule family); logical IDs end in CDK's hash.
# 15 + 15 is over the platform's ceiling of 25 (DEVELOPERS' guide), so app.py builds the Delivery stack only with
# -c delivery=true (opt-in, README "Delivery") until that is decided; the session synth has it, so it stays checked.
PLATFORM_CEILING = 25
DELIVERY_EXCEPTIONS = {
    # Roles CDK Pipelines creates and grants to: object wildcards, CodeBuild log/report names, CDK grant actions.
    ("Delivery", "PipelineRoleDefaultPolicyManaged", "IAM5"),
    ("Delivery", "PipelineBuildSynthCdkBuildProjectRoleDefaultPolicyManaged", "IAM5"),
    ("Delivery", "PipelineUpdatePipelineSelfMutationRoleDefaultPolicyManaged", "IAM5"),
    ("Delivery", "PipelineAssetsFileRoleDefaultPolicyManaged", "IAM5"),
    ("Delivery", "PipelineAssetsDockerRoleDefaultPolicyManaged", "IAM5"),
    # HIPAA asks GitHub/Bitbucket-sourced projects for OAuth; these four have a CODEPIPELINE source.
    ("Delivery", "PipelineBuildSynthCdkBuildProject", "CodeBuildProjectSourceRepoUrl"),
    ("Delivery", "PipelineUpdatePipelineSelfMutation", "CodeBuildProjectSourceRepoUrl"),
    ("Delivery", "PipelineAssetsFileAsset", "CodeBuildProjectSourceRepoUrl"),
    ("Delivery", "PipelineAssetsDockerAsset", "CodeBuildProjectSourceRepoUrl"),
    # CodePipeline's artefact stores (one per region): transient build outputs, no replication or access logs.
    ("Delivery", "PipelineArtifactsBucket", "S3BucketReplicationEnabled"),
    ("Delivery", "PipelineArtifactsBucket", "S3BucketLoggingEnabled"),
    ("Delivery", "PipelineArtifactsBucket", "S1"),
    ("cross-region-stack", "CrossRegionCodePipelineReplicationBucket", "S3BucketReplicationEnabled"),
    ("cross-region-stack", "CrossRegionCodePipelineReplicationBucket", "S3BucketLoggingEnabled"),
    ("cross-region-stack", "CrossRegionCodePipelineReplicationBucket", "S1"),
}


def suppressions_by_stage(synthesized) -> dict[str, dict[tuple[str, str, str], list[dict]]]:
    """stage -> (stack ID, logical ID, rule family) -> the suppression entries written into the template."""
    result: dict[str, dict[tuple[str, str, str], list[dict]]] = {}
    for name in synthesized.stages:
        found = result.setdefault(name, {})
        for stack in synthesized.stacks(name):
            for lid, resource in Template.from_stack(stack).to_json()["Resources"].items():
                for entry in resource.get("Metadata", {}).get("cdk_nag", {}).get("rules_to_suppress", []):
                    found.setdefault((stack.node.id, lid, _rule_family(entry["id"])), []).append(entry)
    return result


def suppressions(synthesized) -> dict[tuple[str, str, str], list[dict]]:
    """All suppressions, a stage's copy of a stack counted once (as the issue counts them)."""
    merged: dict[tuple[str, str, str], list[dict]] = {}
    for found in suppressions_by_stage(synthesized).values():
        for key, entries in found.items():
            merged.setdefault(key, entries)
    return merged


def delivery_suppressions(synthesized) -> dict[tuple[str, str, str], list[dict]]:
    """(stack, logical ID without its hash, rule family) -> entries, for the Delivery stack and its support stacks."""
    found: dict[tuple[str, str, str], list[dict]] = {}
    support = synthesized.delivery.support_stacks()
    for stack in (synthesized.delivery, *support):  # the stages inside it are checked with the stages
        name = "cross-region-stack" if stack.node.id.startswith("cross-region-stack-") else stack.node.id
        for lid, resource in Template.from_stack(stack).to_json()["Resources"].items():
            for entry in resource.get("Metadata", {}).get("cdk_nag", {}).get("rules_to_suppress", []):
                found.setdefault((name, lid[:-8], _rule_family(entry["id"])), []).append(entry)
    return found


def test_every_stage_has_zero_unsuppressed_findings(synthesized):
    assert synthesized.findings == [], "\n".join(map(str, synthesized.findings))


def test_all_three_packs_are_aspects_of_every_stage(synthesized):
    from aws_cdk import Aspects

    for name, stage in synthesized.stages.items():
        packs = {type(aspect).__name__ for aspect in Aspects.of(stage).all}
        assert {"AwsSolutionsChecks", "HIPAASecurityChecks", "NIST80053R5Checks"} <= packs, name


def test_at_most_fifteen_suppressions_each_with_a_reason(synthesized):
    found = suppressions(synthesized)
    assert 0 < len(found) <= MAX_SUPPRESSIONS, sorted(found)
    for key, entries in found.items():
        for entry in entries:
            assert len(entry["reason"]) >= 60, f"{key}: reason too short to convince a reviewer"


def test_delivery_suppresses_exactly_the_listed_exceptions_each_with_a_reason(synthesized):
    found = delivery_suppressions(synthesized)
    assert set(found) == DELIVERY_EXCEPTIONS
    for key, entries in found.items():
        for entry in entries:
            assert len(entry["reason"]) >= 60, f"{key}: reason too short to convince a reviewer"
    total = len(suppressions(synthesized)) + len(found)
    assert total <= MAX_SUPPRESSIONS + len(DELIVERY_EXCEPTIONS), total


def test_the_default_synth_stays_within_the_ceiling_without_the_opt_in_pipeline():
    """Over the ceiling with the pipeline: `make synth` (no -c delivery) must not build it."""
    import app as cdk_app

    over = MAX_SUPPRESSIONS + len(DELIVERY_EXCEPTIONS) > PLATFORM_CEILING
    assert not over or not cdk_app.delivery_requested(cdk_app.new_app())


def test_the_delivery_packs_check_the_pipeline_and_its_support_stacks(synthesized):
    from aws_cdk import Aspects

    support = synthesized.delivery.support_stacks()
    assert support, "the pipeline deploys the replica region: CodePipeline needs a support stack there"
    for stack in (synthesized.delivery, *support):
        packs = {type(aspect).__name__ for aspect in Aspects.of(stack).all}
        assert {"AwsSolutionsChecks", "HIPAASecurityChecks", "NIST80053R5Checks"} <= packs, stack.node.path


def test_suppressions_are_one_family_per_entry_and_wildcards_are_itemised(synthesized):
    everything = {**suppressions(synthesized), **delivery_suppressions(synthesized)}
    for (_stack, lid, family), entries in everything.items():
        assert {_rule_family(e["id"]) for e in entries} == {family}
        if family == "IAM5":
            assert all(e.get("applies_to") for e in entries), f"{lid}: IAM5 must list the wildcards it accepts"


def test_every_stage_suppresses_exactly_the_same_things(synthesized):
    by_stage = {name: set(found) for name, found in suppressions_by_stage(synthesized).items()}
    reference = by_stage["dev"]
    for name, keys in by_stage.items():
        assert keys == reference, f"{name} differs from dev: {keys ^ reference}"
    # The pipeline's own copies of the stages (with their accounts) suppress the same things as well.
    for stage in synthesized.delivery.stages:
        keys = set()
        for stack in stage.node.children:
            if isinstance(stack, Stack):
                for lid, resource in Template.from_stack(stack).to_json()["Resources"].items():
                    for entry in resource.get("Metadata", {}).get("cdk_nag", {}).get("rules_to_suppress", []):
                        keys.add((stack.node.id, lid, _rule_family(entry["id"])))
        assert keys == reference, f"Delivery/{stage.node.id} differs from dev: {keys ^ reference}"


def test_gate_fails_on_a_non_compliant_bucket_inside_a_stage():
    app = cdk_app.new_app()
    stage = Stage(app, "Rogue")
    stack = Stack(stage, "Leaky")
    s3.Bucket(stack, "PlainBucket")  # no KMS, no versioning, no logs, no TLS policy
    apply_nag_packs(stage)
    findings = nag_errors(app.synth())
    rules = {f.message.split(":")[0] for f in findings}
    assert any(f.path.startswith("/Rogue/Leaky/PlainBucket") for f in findings)
    for expected in (
        "AwsSolutions-S1",
        "AwsSolutions-S10",
        "HIPAA.Security-S3DefaultEncryptionKMS",
        "NIST.800.53.R5-S3BucketVersioningEnabled",
    ):
        assert expected in rules, expected


def test_packs_on_the_app_alone_do_not_reach_into_stages():
    """Why apply_nag_packs is called per stage: an app-level aspect misses resources inside a Stage."""
    from aws_cdk import Aspects
    from cdk_nag import AwsSolutionsChecks

    app = cdk_app.new_app()
    Aspects.of(app).add(AwsSolutionsChecks())
    s3.Bucket(Stack(Stage(app, "Rogue"), "Leaky"), "PlainBucket")
    assert nag_errors(app.synth()) == []


def test_app_main_exits_non_zero_on_findings(monkeypatch, capsys, tmp_path):
    import stacks.stage as stage_module

    original = stage_module.MlopsStage.__init__

    def with_rogue_bucket(self, scope, construct_id, *, settings):
        original(self, scope, construct_id, settings=settings)
        s3.Bucket(self.budgets, "RogueBucket")

    monkeypatch.setattr(stage_module.MlopsStage, "__init__", with_rogue_bucket)
    monkeypatch.setattr(cdk_app, "selected_stages", lambda app: ["dev"])
    monkeypatch.setenv("CDK_OUTDIR", str(tmp_path))
    assert cdk_app.main() == 1
    err = capsys.readouterr().err
    assert "unsuppressed finding" in err and "RogueBucket" in err
