"""A SageMaker pipeline rendered from a spec-driven DAG plan (the same plan the local executor runs)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from aws_cdk import Stack
from aws_cdk import aws_ecr_assets as ecr_assets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_assets as s3_assets
from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct

from pipeline_code.dag.assembler import PipelinePlan
from pipeline_code.dag.sagemaker import InputFile, JobResources, SageMakerTarget, render_definition
from stacks import iam_actions as actions
from stacks.constructs.grantee import ManagedPolicyGrantee


@dataclass(frozen=True)
class PipelineJobs:
    """Instance defaults of a pipeline's jobs, per-step overrides, and the VPC they run in (if any)."""

    processing: JobResources = field(default_factory=JobResources)
    training: JobResources = field(default_factory=JobResources)
    per_step: Mapping[str, JobResources] = field(default_factory=dict)
    subnet_ids: tuple[str, ...] = ()
    security_group_ids: tuple[str, ...] = ()


class DagPipeline(Construct):
    """Creates ``self.pipeline`` (``AWS::SageMaker::Pipeline``) whose definition is ``plan`` rendered by
    :mod:`pipeline_code.dag.sagemaker`, and a customer-managed policy that lets ``role`` read the code asset.

    Every job runs ``step_image`` as ``role`` with the step code from ``step_code``; run data goes to
    ``artifacts_bucket`` under ``artifacts/<pipeline name>/``, encrypted with ``key``; ``input_data_uri`` is the
    default of the input parameter, or ``input_files`` split an external input into one parameter per file. The
    definition goes into the template as a JSON string with the tokens resolved by CloudFormation
    (``Stack.to_json_string``), so synth makes no AWS call.

    Grants (unless ``grant_code_read`` is false because another pipeline of the same asset and role already did):
    ``s3:GetObject`` on the code asset object and ``s3:ListBucket`` of that one key (SageMaker lists a
    prefix before it downloads); nothing else: the role's other permissions live in the Identity stack.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        plan: PipelinePlan,
        pipeline_name: str,
        role: iam.IRole,
        artifacts_bucket: s3.IBucket,
        key: kms.IKey,
        step_image: ecr_assets.DockerImageAsset,
        step_code: s3_assets.Asset,
        input_data_uri: str,
        model_package_group_name: str,
        experiment_name: str,
        jobs: PipelineJobs | None = None,
        input_files: Mapping[str, tuple[InputFile, ...]] | None = None,
        description: str = "",
        grant_code_read: bool = True,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        jobs = jobs or PipelineJobs()
        self.pipeline_name = pipeline_name
        self.target = SageMakerTarget(
            pipeline_name=pipeline_name,
            role_arn=role.role_arn,
            artifacts_bucket=artifacts_bucket.bucket_name,
            artifacts_prefix=f"pipelines/{pipeline_name}",
            kms_key_arn=key.key_arn,
            image_uri=step_image.image_uri,
            code_uri=step_code.s3_object_url,
            input_data_uri=input_data_uri,
            model_package_group=model_package_group_name,
            experiment_name=experiment_name,
            region=stack.region,
            processing=jobs.processing,
            training=jobs.training,
            resources=dict(jobs.per_step),
            input_files=dict(input_files or {}),
            subnet_ids=jobs.subnet_ids,
            security_group_ids=jobs.security_group_ids,
        )
        self.definition: dict[str, Any] = render_definition(plan, self.target)
        self.pipeline = sagemaker.CfnPipeline(
            self,
            "Pipeline",
            pipeline_name=pipeline_name,
            pipeline_description=description[:3072] or None,
            role_arn=role.role_arn,
            pipeline_definition={"PipelineDefinitionBody": stack.to_json_string(self.definition)},
        )
        self.pipeline_arn = stack.format_arn(service="sagemaker", resource="pipeline", resource_name=pipeline_name)

        if not grant_code_read:  # the role already reads this asset (a project reusing the platform's step code)
            return
        code_reader = ManagedPolicyGrantee(
            self, "CodeAccess", role=role, description=f"{pipeline_name}: read the step code asset"
        )
        code_reader.add_to_principal_policy(
            iam.PolicyStatement(
                sid="ReadStepCode",
                actions=["s3:GetObject"],
                resources=[step_code.bucket.arn_for_objects(step_code.s3_object_key)],
            )
        )
        code_reader.add_to_principal_policy(
            iam.PolicyStatement(
                sid="ListStepCode",
                actions=["s3:ListBucket"],
                resources=[step_code.bucket.bucket_arn],
                conditions={"StringEquals": {"s3:prefix": [step_code.s3_object_key]}},
            )
        )
        assert set(actions.CDK_ASSET_READ) == {"s3:GetObject", "s3:ListBucket"}  # what the boundary allows
        self.pipeline.node.add_dependency(code_reader.policy)
