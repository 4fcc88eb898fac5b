"""Delivery: the self-mutating CDK pipeline of the tooling account that deploys the stages, dev -> staging -> prod."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from aws_cdk import CfnRule, CfnRuleAssertion, Fn, Stack, Tags, pipelines
from aws_cdk import aws_codebuild as codebuild
from aws_cdk import aws_codepipeline as codepipeline
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from cdk_nag import RegexAppliesTo
from constructs import Construct

from stacks.constructs.platform_key import log_group_encryption
from stacks.delivery_settings import EXAMPLE_CONNECTION_ARN, DeliverySettings
from stacks.identity import CDK_GRANT_ACTION_WILDCARDS
from stacks.nag import (
    CODEBUILD_SOURCE_OAUTH,
    IAM_WILDCARDS,
    S3_ACCESS_LOGS,
    S3_ACCESS_LOGS_AWS,
    S3_REPLICATION,
    apply_nag_packs,
    suppress,
)
from stacks.settings import StageSettings
from stacks.stage import MlopsStage

# The synth step runs the README's own two commands: every gate (ruff, mypy, pytest with cdk-nag and cfn-lint, then
# the synth with cdk-nag) passes before anything deploys. `make synth-delivery` is `make synth` plus this stack
# (opt-in in app.py), so the assembly holds the stack that self-mutation deploys.
SYNTH_COMMANDS = ("make test", "make synth-delivery")
# CodeBuild's curated image, pinned to its major version, and the runtimes the README asks for.
SYNTH_IMAGE = codebuild.LinuxBuildImage.STANDARD_7_0
RUNTIME_VERSIONS = {"python": "3.11", "nodejs": "20"}
ARTEFACT_NONCURRENT_DAYS = 30
BUILD_LOG_RETENTION = logs.RetentionDays.ONE_YEAR
REFUSE_EXAMPLE_MESSAGE = (
    "config/delivery.yaml still holds the example CodeConnections ARN: create a connection, complete its handshake "
    "in the console (README: Delivery), put its ARN in connection_arn and synthesize again"
)


class DeliveryStack(Stack):
    """Creates the CDK pipeline (``self.pipeline``): source from a CodeConnections connection, a synth step that runs
    ``make test`` then ``make synth``, self-mutation, then one wave per stage in ``stages`` (the same ``MlopsStage``
    class ``cdk deploy`` uses), prod behind a manual approval and a change-set review of each of its stacks.

    ``stages`` carry the account the delivery file gives each stage; their ``MlopsStage``s are built inside this
    stack (``self.stages``), each with its own cdk-nag packs; the packs are added to this stack and to the
    cross-region support stacks CodePipeline creates. Artefacts are encrypted with the pipeline's own rotated KMS keys
    (``cross_account_keys``), which the target accounts' CDK deploy roles may use to read them. Every role's grants
    are customer-managed policies (``managed_policies_only``).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        delivery: DeliverySettings,
        stages: Sequence[StageSettings],
        cli_version: str,
        cost_tags: dict[str, str],
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.delivery = delivery
        source = pipelines.CodePipelineSource.connection(
            delivery.repository, delivery.branch, connection_arn=delivery.connection_arn, trigger_on_push=True
        )
        self.synth_step = pipelines.CodeBuildStep(
            "Synth",
            input=source,
            commands=list(SYNTH_COMMANDS),
            primary_output_directory="cdk.out",
            partial_build_spec=codebuild.BuildSpec.from_object(
                {"phases": {"install": {"runtime-versions": dict(RUNTIME_VERSIONS)}}}
            ),
        )
        self.pipeline = pipelines.CodePipeline(
            self,
            "Pipeline",
            pipeline_name=delivery.pipeline_name,
            pipeline_type=codepipeline.PipelineType.V2,
            synth=self.synth_step,
            self_mutation=True,
            cli_version=cli_version,
            cross_account_keys=True,
            enable_key_rotation=True,
            use_pipeline_role_for_actions=True,
            publish_assets_in_parallel=False,
            use_change_sets=True,
            code_build_defaults=pipelines.CodeBuildOptions(
                build_environment=codebuild.BuildEnvironment(
                    build_image=SYNTH_IMAGE, compute_type=codebuild.ComputeType.MEDIUM
                ),
            ),
        )
        self.stages = [MlopsStage(self, s.construct_id, settings=s) for s in stages]
        self._add_waves(self.stages)
        self.pipeline.build_pipeline()
        refuse_example_connection(self, delivery.connection_arn)
        self.build_logs = self._encrypted_build_logs()
        managed_policies_only(self)
        self.artifact_stores = self._shape_artifact_stores()
        self._suppress_generated_findings()
        self._joins_as_subs()
        apply_nag_packs(self)
        for key, value in sorted(cost_tags.items()):
            for stack in (self, *self.support_stacks()):
                Tags.of(stack).add(key, value)

    def projects(self) -> list[codebuild.IProject]:
        """The pipeline's CodeBuild projects: synth, self-mutation, then one per asset type."""
        assets = self.pipeline.node.find_child("Assets").node.children
        return [
            self.pipeline.synth_project,
            self.pipeline.self_mutation_project,
            *(child for child in assets if isinstance(child, codebuild.PipelineProject)),
        ]

    def _encrypted_build_logs(self) -> logs.LogGroup:
        """One log group for every build, encrypted with the pipeline's artefact key and kept a year; CodeBuild
        would otherwise create an unencrypted /aws/codebuild/<project> group per project, kept forever."""
        key = self.pipeline.pipeline.artifact_bucket.encryption_key
        assert isinstance(key, kms.Key), "cross_account_keys gives the artefact bucket a key of this stack"
        name = f"/aws/codebuild/{self.delivery.pipeline_name}"
        arn = f"arn:aws:logs:{self.region}:{self.account}:log-group:{name}"
        group = logs.LogGroup(self, "BuildLogs", log_group_name=name, encryption_key=key, retention=BUILD_LOG_RETENTION)
        statement = log_group_encryption(sid="EncryptionOfBuildLogs", region=self.region, log_group_arn=arn)
        key.add_to_resource_policy(statement)
        for project in self.projects():
            cfn = project.node.default_child
            assert isinstance(cfn, codebuild.CfnProject)
            cfn.logs_config = codebuild.CfnProject.LogsConfigProperty(
                cloud_watch_logs=codebuild.CfnProject.CloudWatchLogsConfigProperty(
                    status="ENABLED",
                    group_name=group.log_group_name,
                    stream_name="Synth" if project.node.id == "CdkBuildProject" else project.node.id,
                )
            )
            assert project.role is not None
            group.grant_write(project.role)
        return group

    def support_stacks(self) -> list[Stack]:
        """The cross-region support stacks CodePipeline made (one per other region it deploys to)."""
        return [
            support.stack
            for support in self.pipeline.pipeline.cross_region_support.values()
            if support.stack.node.path != self.node.path  # after synth the map lists this stack's region too
        ]

    def _add_waves(self, stages: Sequence[MlopsStage]) -> None:
        """One wave per stage, in order; prod behind a manual approval and a per-stack change-set review."""
        for stage in stages:
            settings = stage.settings
            wave = self.pipeline.add_wave(stage.node.id)
            if settings.stage != "prod":
                wave.add_stage(stage)
                continue
            wave.add_pre(
                pipelines.ManualApprovalStep(
                    "PromoteToProd", comment="Staging is deployed: approve to prepare prod's change sets"
                )
            )
            stacks = [child for child in stage.node.children if isinstance(child, Stack)]
            wave.add_stage(
                stage,
                stack_steps=[
                    pipelines.StackSteps(
                        stack=stack,
                        change_set=[
                            pipelines.ManualApprovalStep(
                                f"Review{stack.node.id}ChangeSet",
                                comment=f"Review the change set of {stack.stack_name} before it is executed",
                            )
                        ],
                    )
                    for stack in stacks
                ],
            )

    def _shape_artifact_stores(self) -> list[s3.IBucket]:
        """Versioned artefact buckets that drop old versions, here and in each cross-region support stack.

        CDK creates them (KMS with the pipeline's rotated keys, public access blocked, TLS only); the support stacks
        live outside this stack, so the cdk-nag packs are added to them here.
        """
        pipeline = self.pipeline.pipeline
        buckets = [pipeline.artifact_bucket]
        for support in pipeline.cross_region_support.values():
            apply_nag_packs(support.stack)
            buckets.append(support.replication_bucket)
        for bucket in buckets:
            cfn = bucket.node.default_child
            assert isinstance(cfn, s3.CfnBucket)
            cfn.versioning_configuration = s3.CfnBucket.VersioningConfigurationProperty(status="Enabled")
            cfn.lifecycle_configuration = s3.CfnBucket.LifecycleConfigurationProperty(
                rules=[
                    s3.CfnBucket.RuleProperty(
                        id="ExpireOldArtefacts",
                        status="Enabled",
                        noncurrent_version_expiration=s3.CfnBucket.NoncurrentVersionExpirationProperty(
                            noncurrent_days=ARTEFACT_NONCURRENT_DAYS
                        ),
                        abort_incomplete_multipart_upload=s3.CfnBucket.AbortIncompleteMultipartUploadProperty(
                            days_after_initiation=1
                        ),
                    )
                ]
            )
        return buckets

    def _suppress_generated_findings(self) -> None:
        """The findings left on resources CDK Pipelines generates and the platform cannot shape: one rule family on
        one resource each, wildcards itemised (tests/infra/test_nag.py lists them as the platform's exceptions)."""
        pipeline = self.pipeline
        region, account = re.escape(self.region), r"[0-9]{12}"

        def resource(pattern: str) -> RegexAppliesTo:
            return RegexAppliesTo(regex=f"/^Resource::{pattern}$/g")

        def codebuild_logs(project: str) -> list[str | RegexAppliesTo]:
            return [
                resource(rf"arn:aws:logs:{region}:{account}:log-group:\/aws\/codebuild\/{project}"),
                resource(rf"arn:aws:codebuild:{region}:{account}:report-group\/{project}"),
            ]

        objects = resource(r"<PipelineArtifactsBucket[0-9A-F]{8}\.Arn>\/\*")
        # CodePipeline names each support region's bucket '<stack>-support-<region...>replicationbucket<hash>'.
        support_objects = [resource(rf"arn:aws:s3:::{re.escape(self.stack_name.lower())}-support-[a-z0-9-]+\/\*")]
        grants: list[str | RegexAppliesTo] = [*CDK_GRANT_ACTION_WILDCARDS, objects]
        roles: dict[str, tuple[iam.IRole | None, str, list[str | RegexAppliesTo]]] = {
            "pipeline": (
                pipeline.pipeline.role,
                "The pipeline role (also every action's role) reads and writes the artefact buckets through CDK's "
                "grants (object wildcard, grant action wildcards) in this region and each support region; the "
                "support regions' keys are granted on '*' because their key ARNs live in another stack's region.",
                [*grants, *support_objects, "Resource::*"],
            ),
            "synth": (
                pipeline.synth_project.role,
                "The synth project writes its log group and test reports (CodeBuild names both after the project, "
                "suffix wildcards) and reads and writes artefacts through CDK's grants (object wildcard).",
                [*grants, *codebuild_logs(r"<PipelineBuildSynthCdkBuildProject[0-9A-F]{8}>(:|-)\*")],
            ),
            "self-mutation": (
                pipeline.self_mutation_project.role,
                "CDK Pipelines' self-mutation runs 'cdk deploy' of this stack: it assumes only roles tagged as CDK "
                "bootstrap roles (condition on aws-cdk:bootstrap-role), calls DescribeStacks and ListBucket, which "
                "the CLI needs unscoped, reads artefacts (object wildcard) and writes its own logs and reports.",
                [
                    *grants,
                    *codebuild_logs(r"<PipelineUpdatePipelineSelfMutation[0-9A-F]{8}>(:|-)\*"),
                    resource(rf"arn:\*:iam::{account}:role\/\*"),
                    "Resource::*",
                ],
            ),
        }
        for asset_type in ("File", "Docker"):
            asset_role = pipeline.node.find_child("Assets").node.find_child(f"{asset_type}Role")
            assert isinstance(asset_role, iam.Role)
            roles[asset_type] = (
                asset_role,
                f"CDK Pipelines shares one {asset_type.lower()}-asset publishing role among its projects, so its "
                "logs and reports are granted on /aws/codebuild/* and report-group/* and StartBuild on '*'; it "
                "reads artefacts (object wildcard) and assumes only the targets' CDK publishing roles.",
                [*grants, *codebuild_logs(r"\*"), "Resource::*"],
            )
        for role_or_none, reason, applies_to in roles.values():
            assert role_or_none is not None, "CDK Pipelines made every project with its own role"
            suppress(_managed_policy_of(role_or_none), IAM_WILDCARDS, reason, applies_to=applies_to)

        for project in self.projects():
            suppress(
                project,
                CODEBUILD_SOURCE_OAUTH,
                "The rule asks GitHub and Bitbucket sources to use OAuth; this project's source type is CODEPIPELINE "
                "(the pipeline hands it the artefact), so it has no repository URL and no credentials of its own.",
            )
        for bucket in self.artifact_stores:
            suppress(
                bucket,
                S3_REPLICATION,
                "A CodePipeline artefact store holds transient build outputs that every run recreates from the "
                "repository; CodePipeline needs one store per region, so this one already sits next to its copy.",
            )
            for family in (S3_ACCESS_LOGS, S3_ACCESS_LOGS_AWS):
                suppress(
                    bucket,
                    family,
                    "Only the pipeline's own roles read and write this artefact store (bucket and key policy); "
                    "CloudTrail and CodePipeline's execution history record who ran what. Access logs would need "
                    "an SSE-S3 log bucket per region, which the packs flag in turn.",
                )

    def _joins_as_subs(self) -> None:
        """Write the pipeline's stage definitions with ``Fn::Sub`` where CDK wrote ``Fn::Join`` with an empty
        delimiter (cross-account role ARNs: cfn-lint E3703), and drop the pipeline's DependsOn on its role, which
        its RoleArn already implies (W3005). Same values, the form the template linter asks for."""
        cfn = self.pipeline.pipeline.node.default_child
        assert isinstance(cfn, codepipeline.CfnPipeline)
        cfn.add_property_override("Stages", _subs(_pascal(self.resolve(cfn.stages))))
        # CDK's construct-level dependency on the role renders DependsOn [policy, role]; keep the policy only.
        cfn.add_override("DependsOn", [self.get_logical_id(_managed_policy_of(self.pipeline.pipeline.role))])


def refuse_example_connection(stack: Stack, connection_arn: str) -> CfnRule:
    """A template rule: CloudFormation rejects the stack, before touching anything, while the ARN is the example.

    Rules are evaluated on every create and update (``cdk deploy``, the pipeline's self-mutation, the console), and
    the template holds only literals, so the check is as deterministic as the synth; with a real ARN it holds.
    """
    return CfnRule(
        stack,
        "RefuseExampleConnection",
        assertions=[
            CfnRuleAssertion(
                assert_=Fn.condition_not(Fn.condition_contains([EXAMPLE_CONNECTION_ARN], connection_arn)),
                assert_description=REFUSE_EXAMPLE_MESSAGE,
            )
        ],
    )


def _pascal(value: Any) -> Any:
    """A resolved L1 property (camelCase struct keys) in template form (PascalCase); free-form ``configuration``
    maps keep their keys, which CodePipeline already spells in PascalCase."""
    if isinstance(value, list):
        return [_pascal(item) for item in value]
    if not isinstance(value, dict):
        return value
    if any(key == "Ref" or key.startswith("Fn::") for key in value):
        return value
    return {key[:1].upper() + key[1:]: item if key == "configuration" else _pascal(item) for key, item in value.items()}


def _subs(value: Any) -> Any:
    """``{"Fn::Join": ["", parts]}`` -> ``{"Fn::Sub": "..."}`` wherever every part is a string, Ref or GetAtt."""
    if isinstance(value, list):
        return [_subs(item) for item in value]
    if not isinstance(value, dict):
        return value
    join = value.get("Fn::Join")
    if len(value) == 1 and isinstance(join, list) and join[0] == "" and isinstance(join[1], list):
        text = []
        for part in join[1]:
            if isinstance(part, str):
                text.append(part.replace("${", "${!"))
            elif isinstance(part, dict) and set(part) == {"Ref"}:
                text.append("${" + part["Ref"] + "}")
            elif isinstance(part, dict) and set(part) == {"Fn::GetAtt"}:
                text.append("${" + ".".join(part["Fn::GetAtt"]) + "}")
            else:
                return {key: _subs(item) for key, item in value.items()}
        return {"Fn::Sub": "".join(text)}
    return {key: _subs(item) for key, item in value.items()}


def _managed_policy_of(role: iam.IRole) -> iam.CfnManagedPolicy:
    """The managed policy ``managed_policies_only`` made of the role's ``DefaultPolicy``."""
    found = role.node.find_child("DefaultPolicy").node.find_child("Managed")
    assert isinstance(found, iam.CfnManagedPolicy)
    return found


def managed_policies_only(scope: Construct) -> None:
    """Turn every inline ``DefaultPolicy`` CDK Pipelines made under ``scope`` into a customer-managed policy.

    CDK Pipelines creates most of its roles itself and grants to them, which writes inline policies (HIPAA and NIST
    800-53 ask for managed ones, as the platform's own roles have through ``ManagedPolicyGrantee``). Each L2
    ``iam.Policy`` keeps its document and its place in the tree; only its CloudFormation resource is swapped for an
    ``AWS::IAM::ManagedPolicy`` with the same document and roles, so whatever depended on the policy now depends on
    the managed one. Run it after ``build_pipeline()``: a grant made later would create a new inline policy, which
    cdk-nag reports.
    """
    for construct in scope.node.find_all():
        if not isinstance(construct, iam.Policy):
            continue
        inline = construct.node.default_child
        if not isinstance(inline, iam.CfnPolicy):
            continue
        roles = inline.roles
        construct.node.try_remove_child(inline.node.id)
        iam.CfnManagedPolicy(
            construct,
            "Managed",
            policy_document=construct.document,
            roles=roles,
            description=f"Permissions of {construct.node.scope.node.path if construct.node.scope else 'a role'}"[:1000],
        )
