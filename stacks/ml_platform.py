"""ML platform (stateless): SageMaker pipelines rendered from the DAG, their step images and code, the model
registry's groups, the Feature Store feature group, and the retraining triggers.

The pipeline definitions are the adherence plan (``pipeline_code.adherence.specs``) and the intent plan
(``pipeline_code.intent.specs``), both rendered by ``pipeline_code.dag.sagemaker``: the local executor and SageMaker
run the same steps with the same parameters. Three assets carry what the jobs run: the step image
(``docker/steps/Dockerfile``: the pinned pipeline runtime), the intent image (``docker/intent/Dockerfile``: the same
plus the pinned intent runtime, torch included; every intent job runs it) and the step code (the ``pipeline_code``
package as a zip, shared by both pipelines; a code change changes only that, a dependency change an image). Synth
builds none of them: the CDK CLI builds and publishes them at deploy time (the images need Docker there).

The code asset stays in the CDK file-asset bucket instead of being copied into the pipeline-artifacts bucket: a copy
needs ``BucketDeployment``, a CDK-made Lambda function whose findings (runtime, concurrency, DLQ, VPC, inline and
managed policies) would cost about eight suppressions, and its role would need the file-asset bucket in the
permissions boundary anyway. Reading the asset where it is costs one read-only boundary statement instead.

The model package groups and the feature group hold the registry and the features: they are RETAINed outside the
sandbox and their logical IDs are pinned by a test, like the data foundation's buckets.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aws_cdk import IgnoreMode, RemovalPolicy, Stack
from aws_cdk import aws_ecr_assets as ecr_assets
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_assets as s3_assets
from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct

from pipeline_code.adherence.ingest.records import EVENT_TIME, RECORD_IDENTIFIER, feature_definitions
from pipeline_code.adherence.specs import DEFINITION as ADHERENCE
from pipeline_code.adherence.specs import INGEST
from pipeline_code.dag import assemble
from pipeline_code.dag.sagemaker import InputFile, JobResources
from pipeline_code.intent.specs import DEFINITION as INTENT
from stacks import naming
from stacks.constructs.dag_pipeline import DagPipeline, PipelineJobs
from stacks.constructs.feature_group import FeatureGroup
from stacks.constructs.retraining_triggers import RetrainingTriggers
from stacks.data_foundation import DataFoundationStack
from stacks.identity import IdentityStack
from stacks.outputs import sdk_output
from stacks.settings import StageSettings

ROOT = Path(__file__).resolve().parents[1]
MODELS = ("adherence", "intent")
"""One model package group per model, each the registry of that model's pipeline."""
# The image's build context is the repository root, narrowed to the three files the Dockerfile copies.
STEP_IMAGE_CONTEXT = [
    "*",
    "!docker/steps/Dockerfile",
    "!docker/steps/bootstrap.py",
    "!requirements-pipeline.txt",
    "!constraints.txt",
]
# The intent image's context: its Dockerfile, the shared bootstrap, both runtime files and the constraints.
INTENT_IMAGE_CONTEXT = [
    "*",
    "!docker/intent/Dockerfile",
    "!docker/steps/bootstrap.py",
    "!requirements-pipeline.txt",
    "!requirements-intent.txt",
    "!constraints.txt",
]
INTENT_SPLITS = ("train", "valid", "test")
"""The intent pipeline's input files, one parameter each (``TrainCsvUri`` ...); defaults ``<prefix><split>.csv``."""
CODE_EXCLUDES = ["**/__pycache__", "**/*.pyc", "**/.mypy_cache", "**/.pytest_cache"]


def intent_input_files(bucket: s3.IBucket, prefix: str) -> tuple[InputFile, ...]:
    """The intent pipeline's ``INTENT_SPLITS`` parameters, defaulting to ``s3://<bucket>/<prefix><split>.csv``."""
    return tuple(
        InputFile(
            folder=split,
            parameter=f"{split.capitalize()}CsvUri",
            default_uri=bucket.s3_url_for_object(f"{prefix}{split}.csv"),
        )
        for split in INTENT_SPLITS
    )


class MlPlatformStack(Stack):
    """Creates, per stage: ``self.step_image``, ``self.intent_image`` and ``self.step_code`` (assets),
    ``self.model_package_groups`` (``adherence``, ``intent``), ``self.feature_group`` (the adherence feature table),
    ``self.adherence_pipeline`` and ``self.intent_pipeline`` (``AWS::SageMaker::Pipeline``, running as the Identity
    stack's SageMaker execution role) and ``self.triggers`` (new adherence raw data, optional schedule).

    Grants: the SageMaker execution role may read the code asset (everything else it needs is granted in the
    Identity stack); the trigger role may start the adherence pipeline and nothing else. The intent pipeline has no
    trigger: its data sets are uploaded as whole files, and a run is started by hand with their URIs.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: StageSettings,
        data: DataFoundationStack,
        identity: IdentityStack,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        cfg = settings.ml_platform
        prefix = settings.resource_prefix
        stateful_removal = RemovalPolicy.RETAIN if settings.retain else RemovalPolicy.DESTROY
        role = identity.sagemaker_execution_role

        self.step_image = ecr_assets.DockerImageAsset(
            self,
            "StepImage",
            directory=str(ROOT),
            file="docker/steps/Dockerfile",
            exclude=STEP_IMAGE_CONTEXT,
            ignore_mode=IgnoreMode.DOCKER,
            platform=ecr_assets.Platform.LINUX_AMD64,
        )
        self.step_code = s3_assets.Asset(self, "StepCode", path=str(ROOT / "pipeline_code"), exclude=CODE_EXCLUDES)

        self.model_package_groups: dict[str, sagemaker.CfnModelPackageGroup] = {}
        for model in MODELS:
            group = sagemaker.CfnModelPackageGroup(
                self,
                f"{model.capitalize()}ModelPackageGroup",
                model_package_group_name=f"{prefix}-{model}",
                model_package_group_description=f"{model} models of {prefix}; registered pending manual approval",
            )
            group.apply_removal_policy(stateful_removal)
            self.model_package_groups[model] = group

        self.feature_group = FeatureGroup(
            self,
            "AdherenceFeatureGroup",
            feature_group_name=f"{prefix}-adherence-features",
            definitions=[d.to_dict() for d in feature_definitions()],
            record_identifier=RECORD_IDENTIFIER,
            event_time_feature=EVENT_TIME,
            role=role,
            offline_bucket=data.processed_features_bucket,
            offline_prefix="feature-store",
            key=data.key,
            online_store=cfg.online_store,
            removal_policy=stateful_removal,
            description="Adherence feature table: one record per encounter",
        )

        pipeline_name = f"{prefix}-adherence"
        plan = assemble(ADHERENCE, {INGEST: {"feature_group_name": self.feature_group.feature_group_name}})
        runtime_s = cfg.max_runtime_minutes * 60
        self.adherence_pipeline = DagPipeline(
            self,
            "AdherencePipeline",
            plan=plan,
            pipeline_name=pipeline_name,
            role=role,
            artifacts_bucket=data.pipeline_artifacts_bucket,
            key=data.key,
            step_image=self.step_image,
            step_code=self.step_code,
            input_data_uri=data.raw_data_bucket.s3_url_for_object(cfg.raw_data_prefix),
            model_package_group_name=f"{prefix}-adherence",
            experiment_name=pipeline_name,
            jobs=PipelineJobs(
                processing=JobResources(cfg.processing_instance_type, 1, cfg.volume_size_gb, runtime_s),
                training=JobResources(cfg.training_instance_type, 1, cfg.volume_size_gb, runtime_s),
                subnet_ids=cfg.subnet_ids,
                security_group_ids=cfg.security_group_ids,
            ),
            description=ADHERENCE.description,
        )
        self.adherence_pipeline.pipeline.node.add_dependency(self.feature_group.feature_group)
        self.adherence_pipeline.pipeline.node.add_dependency(self.model_package_groups["adherence"])

        self.intent_image = ecr_assets.DockerImageAsset(
            self,
            "IntentImage",
            directory=str(ROOT),
            file="docker/intent/Dockerfile",
            exclude=INTENT_IMAGE_CONTEXT,
            ignore_mode=IgnoreMode.DOCKER,
            platform=ecr_assets.Platform.LINUX_AMD64,
        )
        intent_name = f"{prefix}-intent"
        intent_inputs = intent_input_files(data.raw_data_bucket, cfg.intent_raw_data_prefix)
        self.intent_pipeline = DagPipeline(
            self,
            "IntentPipeline",
            plan=assemble(INTENT),
            pipeline_name=intent_name,
            role=role,
            artifacts_bucket=data.pipeline_artifacts_bucket,
            key=data.key,
            step_image=self.intent_image,
            step_code=self.step_code,
            input_data_uri=data.raw_data_bucket.s3_url_for_object(cfg.intent_raw_data_prefix),
            input_files={"raw_data": intent_inputs},
            model_package_group_name=intent_name,
            experiment_name=intent_name,
            jobs=PipelineJobs(
                processing=JobResources(cfg.processing_instance_type, 1, cfg.volume_size_gb, runtime_s),
                training=JobResources(cfg.intent_training_instance_type, 1, cfg.volume_size_gb, runtime_s),
                subnet_ids=cfg.subnet_ids,
                security_group_ids=cfg.security_group_ids,
            ),
            description=INTENT.description,
        )
        self.intent_pipeline.pipeline.node.add_dependency(self.model_package_groups["intent"])

        self.triggers = RetrainingTriggers(
            self,
            "AdherenceRetraining",
            pipeline_name=pipeline_name,
            pipeline_arn=self.adherence_pipeline.pipeline_arn,
            bucket=data.raw_data_bucket,
            prefix=cfg.raw_data_prefix,
            on_new_data=cfg.retrain_on_new_data,
            schedule=cfg.retraining_schedule,
            schedule_timezone=cfg.schedule_timezone,
            role_path=naming.role_path(settings),
        )
        # For the platform SDK's config (mlops config export): pipelines["adherence"], feature_store.groups[...].
        sdk_output(self, settings=settings, key="AdherencePipelineName", value=pipeline_name)
        sdk_output(self, settings=settings, key="IntentPipelineName", value=intent_name)
        sdk_output(
            self, settings=settings, key="AdherenceFeatureGroupName", value=self.feature_group.feature_group_name
        )
        if self.triggers.rule is not None:
            self.triggers.rule.node.add_dependency(self.adherence_pipeline.pipeline)
        if self.triggers.schedule is not None:
            self.triggers.schedule.node.add_dependency(self.adherence_pipeline.pipeline)
