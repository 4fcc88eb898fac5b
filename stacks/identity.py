"""Identity: the execution roles of SageMaker and Lambda, and the two human personas.

Every permission is a grant on an object from the data foundation (``bucket.grant_read(...)``) or a statement
scoped to the stage's resource-name prefix; statements land in one customer-managed policy per role. Every role
sits under the stage's IAM path (which the key policy trusts) and carries the stage's permissions boundary.
"""

from __future__ import annotations

import re
from typing import Any

from aws_cdk import ArnFormat, Duration, Stack
from aws_cdk import aws_iam as iam
from cdk_nag import RegexAppliesTo
from constructs import Construct

from stacks import iam_actions as actions
from stacks import naming
from stacks.constructs.platform_role import PlatformRole
from stacks.data_foundation import EDGE_MODEL_PREFIX, DataFoundationStack
from stacks.nag import IAM_WILDCARDS, suppress
from stacks.outputs import sdk_output
from stacks.settings import StageSettings

# CDK's bucket and key grants use these action wildcards; they are the only action wildcards allowed.
CDK_GRANT_ACTION_WILDCARDS = [
    "Action::s3:GetObject*",
    "Action::s3:GetBucket*",
    "Action::s3:List*",
    "Action::s3:DeleteObject*",
    "Action::s3:Abort*",
    "Action::kms:ReEncrypt*",
    "Action::kms:GenerateDataKey*",
]
BUCKET_OBJECTS = RegexAppliesTo(regex=r"/^Resource::<[A-Za-z]+Bucket[0-9A-F]{8}\.Arn>\/\*$/g")


class IdentityStack(Stack):
    """Creates ``self.sagemaker_execution_role``, ``self.lambda_execution_role``, ``self.data_scientist_role`` and
    ``self.ml_engineer_role``.

    - SageMaker execution: reads raw data, writes features, models, edge and pipeline artefacts; runs the jobs
      its pipelines start; registers model packages but cannot approve them.
    - Lambda execution: reads model artefacts, deploys approved models to endpoints, writes its logs.
    - Data scientist: reads raw and processed data, runs pipelines and experiments; explicitly denied approving
      or deploying models.
    - ML engineer: approves model packages, deploys endpoints, manages monitoring and alarms.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: StageSettings,
        data: DataFoundationStack,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self._prefix = settings.resource_prefix
        path = naming.role_path(settings)
        personas = settings.personas
        session = Duration.hours(personas.max_session_hours)

        sagemaker = PlatformRole(
            self,
            "SageMakerExecutionRole",
            assumed_by=iam.ServicePrincipal(
                "sagemaker.amazonaws.com", conditions={"StringEquals": {"aws:SourceAccount": self.account}}
            ),
            role_path=path,
            description=f"SageMaker jobs and pipelines of {self._prefix}",
        )
        lambda_ = PlatformRole(
            self,
            "LambdaExecutionRole",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            role_path=path,
            description=f"Lambda functions of {self._prefix}",
        )
        scientist = PlatformRole(
            self,
            "DataScientistRole",
            assumed_by=_persona_principal(personas.data_scientist_principals),
            role_path=path,
            description=f"Data scientists of {self._prefix}: explore data, run pipelines and experiments",
            max_session=session,
        )
        engineer = PlatformRole(
            self,
            "MlEngineerRole",
            assumed_by=_persona_principal(personas.ml_engineer_principals),
            role_path=path,
            description=f"ML engineers of {self._prefix}: approve, deploy and monitor models",
            max_session=session,
        )

        # SageMaker execution role
        data.raw_data_bucket.grant_read(sagemaker.grantee)
        for bucket in (
            data.processed_features_bucket,
            data.model_artifacts_bucket,
            data.edge_deployments_bucket,
            data.pipeline_artifacts_bucket,
        ):
            bucket.grant_read_write(sagemaker.grantee)
        data.key.grant_encrypt_decrypt(sagemaker.grantee)
        sagemaker.role.grant_pass_role(sagemaker.grantee)  # a pipeline hands its role to the jobs it starts
        sagemaker.allow(  # jobs' EBS volumes are encrypted with the stage key through a grant SageMaker creates
            "EncryptJobVolumes",
            actions.KMS_GRANT_FOR_AWS_RESOURCE,
            [data.key.key_arn],
            {"Bool": {"kms:GrantIsForAWSResource": "true"}},
        )
        sagemaker.allow("WriteJobLogs", actions.LOG_WRITE, [self._log_groups("/aws/sagemaker/")])
        sagemaker.allow(
            "PublishJobMetrics",
            ["cloudwatch:PutMetricData"],
            ["*"],
            {"StringLike": {"cloudwatch:namespace": ["/aws/sagemaker/*", f"{self._prefix}/*"]}},
        )
        sagemaker.allow("EcrLogin", actions.ECR_LOGIN, ["*"])
        sagemaker.allow(
            "PullImages",
            actions.ECR_PULL,
            [self.format_arn(service="ecr", account="*", resource="repository", resource_name="*")],
        )
        sagemaker.allow(
            "RunPipelineJobs",
            actions.PIPELINE_JOBS,
            [self._sm("processing-job", "pipelines-*"), self._sm("training-job", "pipelines-*")],
        )
        sagemaker.allow("RegisterModels", [*actions.REGISTER_MODEL, *actions.REGISTRY_READ], self._registry_arns())
        sagemaker.allow(
            "FeatureStoreRecords",
            actions.FEATURE_STORE_RECORDS,
            [self._sm("feature-group", f"{self._prefix}-*")],
        )
        sagemaker.allow("TrackPipelineExperiments", actions.EXPERIMENTS, self._experiment_arns())
        sagemaker.allow(  # the feature groups' offline store (the SageMaker role is their role too)
            "FeatureStoreOfflineStore",
            actions.FEATURE_STORE_OFFLINE,
            [data.processed_features_bucket.bucket_arn, data.processed_features_bucket.arn_for_objects("*")],
        )
        if settings.ml_platform.in_vpc:
            sagemaker.allow("RunJobsInTheVpc", actions.VPC_JOBS, ["*"])

        # Lambda execution role (the model deployer: checks a package's artefact before it deploys it)
        data.model_artifacts_bucket.grant_read(lambda_.grantee)
        data.pipeline_artifacts_bucket.grant_read(lambda_.grantee)
        data.key.grant_encrypt_decrypt(lambda_.grantee)
        sagemaker.role.grant_pass_role(lambda_.grantee)  # the deployer creates models that run as SageMaker
        lambda_.allow("WriteFunctionLogs", actions.LOG_WRITE, [self._log_groups(f"/aws/lambda/{self._prefix}-")])
        lambda_.allow(
            "DeployApprovedModels",
            [*actions.REGISTRY_READ, *actions.ENDPOINTS],
            self._deployment_arns(),
        )
        for deployer in (lambda_, engineer):  # provisioned endpoint storage: SageMaker grants itself the stage key
            deployer.allow(
                "EncryptEndpointStorage",
                actions.KMS_GRANT_FOR_AWS_RESOURCE,
                [data.key.key_arn],
                {"Bool": {"kms:GrantIsForAWSResource": "true"}},
            )
            deployer.allow("DescribeStageKey", ["kms:DescribeKey"], [data.key.key_arn])
        lambda_.allow(
            "TraceAndListDeployments",
            actions.union(actions.TRACING, actions.DEPLOY_LIST, actions.EDGE_UNSCOPED),
            ["*"],
        )
        lambda_.allow(
            "DeployerDeadLetterQueue",
            actions.DEAD_LETTER,
            [
                self.format_arn(
                    service="sqs",
                    resource=naming.deployer_dead_letter_queue_name(settings),
                    arn_format=ArnFormat.NO_RESOURCE_NAME,
                )
            ],
        )
        # ... and publishes approved intent models to the stage's devices (Greengrass model component + deployment)
        # ... publishes the live version's drift-check baselines where the monitoring schedules read them
        for deployer in (lambda_, engineer):  # (the engineer: mlops deploy rollback runs the same code)
            data.model_artifacts_bucket.grant_put(deployer.grantee, "monitoring/*")
        data.edge_deployments_bucket.grant_read(lambda_.grantee, f"{EDGE_MODEL_PREFIX}/*")
        data.edge_deployments_bucket.grant_put(lambda_.grantee, f"{EDGE_MODEL_PREFIX}/*")
        thing_group = naming.edge_thing_group_arn(self, settings)
        # edge intent SageMaker projects (stacks/projects.py): their own thing groups <prefix>-project-<name>-devices
        project_thing_groups = naming.project_thing_groups_arn(self, settings)
        lambda_.allow(  # component names are <prefix>.edge.* (the stage's) and <prefix>.project.<name>.* (projects')
            "DescribeStageComponents",
            actions.EDGE_COMPONENTS,
            [
                self._greengrass(f"components:{self._prefix}.*"),
                self._greengrass(f"components:{self._prefix}.*:versions:*"),
            ],
        )
        lambda_.allow(  # deployment IDs are minted by Greengrass: the target is what is scoped
            "DeployToStageDevices",
            actions.EDGE_DEPLOY,
            [self._greengrass("deployments:*"), thing_group, project_thing_groups],
        )
        lambda_.allow(  # the IoT jobs Greengrass runs a deployment as, on the group's devices
            "RunDeploymentJobs",
            actions.IOT_DEPLOYMENT_JOBS,
            [
                thing_group,
                project_thing_groups,
                self.format_arn(service="iot", resource="job", resource_name="*"),
                self.format_arn(service="iot", resource="thing", resource_name="*"),
            ],
        )
        if settings.ml_platform.in_vpc:  # the deployer runs in the jobs' subnets
            lambda_.allow("RunInTheVpc", actions.VPC_JOBS, ["*"])

        # Data scientist
        data.raw_data_bucket.grant_read(scientist.grantee)
        data.processed_features_bucket.grant_read(scientist.grantee)
        data.key.grant_decrypt(scientist.grantee)
        sagemaker.role.grant_pass_role(scientist.grantee)  # to start experiments that run as SageMaker
        scientist.allow(
            "RunPipelines", [*actions.PIPELINE_RUN, *actions.PIPELINE_READ], [self._sm("pipeline", f"{self._prefix}-*")]
        )
        scientist.allow("RunExperiments", actions.EXPERIMENTS, self._experiment_arns())
        scientist.allow(  # the platform SDK's job helpers: jobs named with the stage prefix, run as the SageMaker role
            "RunStageJobs",
            actions.PIPELINE_JOBS,
            [self._sm("processing-job", f"{self._prefix}-*"), self._sm("training-job", f"{self._prefix}-*")],
        )
        scientist.allow("ReadRegistry", actions.REGISTRY_READ, self._registry_arns())
        scientist.allow("ListAndSearch", actions.LIST_AND_SEARCH, ["*"])
        scientist.deny("NeverApproveOrDeployModels", actions.APPROVE_OR_DEPLOY)

        # ML engineer
        data.model_artifacts_bucket.grant_read(engineer.grantee)
        data.pipeline_artifacts_bucket.grant_read(engineer.grantee)  # mlops deploy: a package's artefact
        data.processed_features_bucket.grant_read(engineer.grantee)  # monitoring baselines
        data.key.grant_decrypt(engineer.grantee)
        sagemaker.role.grant_pass_role(engineer.grantee)
        engineer.allow("ApproveModelPackages", [*actions.APPROVE_MODEL, *actions.REGISTRY_READ], self._registry_arns())
        engineer.allow("DeployEndpoints", actions.ENDPOINTS, self._deployment_arns())
        engineer.allow(  # mlops deploy batch: jobs named <prefix>-<model>-v<version>-<time>
            "BatchScoring", actions.BATCH_TRANSFORM, [self._sm("transform-job", f"{self._prefix}-*")]
        )
        engineer.allow("ManageMonitoring", actions.MONITORING, [self._sm("monitoring-schedule", f"{self._prefix}-*")])
        engineer.allow(
            "ManageAlarms",
            actions.ALARMS,
            [
                self.format_arn(
                    service="cloudwatch",
                    resource="alarm",
                    resource_name=f"{self._prefix}-*",
                    arn_format=ArnFormat.COLON_RESOURCE_NAME,
                )
            ],
        )
        engineer.allow("ReadPipelines", actions.PIPELINE_READ, [self._sm("pipeline", f"{self._prefix}-*")])
        engineer.allow(  # the platform SDK's create_feature_group, from a data contract
            "CreateFeatureGroups", actions.FEATURE_GROUP_CREATE, [self._sm("feature-group", f"{self._prefix}-*")]
        )
        engineer.allow(
            "ListAndSearch", [*actions.LIST_AND_SEARCH, *actions.DEPLOY_LIST, "cloudwatch:GetMetricData"], ["*"]
        )
        engineer.allow(  # mlops deploy rollback|status, or the deployer itself
            "RunTheModelDeployer",
            actions.INVOKE_DEPLOYER,
            [
                self.format_arn(
                    service="lambda",
                    resource="function",
                    resource_name=naming.deployer_function_name(settings),
                    arn_format=ArnFormat.COLON_RESOURCE_NAME,
                )
            ],
        )

        # SageMaker projects (stacks/projects.py): both personas launch the portfolio's templates from Studio or the
        # CLI; which products they see is decided by the portfolio's principal associations. Project names are the
        # team's choice, so projects are scoped to this account and region only.
        for persona in (scientist, engineer):
            persona.allow("LaunchSageMakerProjects", actions.PROJECTS_USE, [self._sm("project", "*")])
            persona.allow(
                "ServiceCatalogEndUser", actions.union(actions.PROJECTS_LIST, actions.SERVICE_CATALOG_END_USER), ["*"]
            )

        # Studio (stacks/studio.py): each persona's user profile runs as the persona's role, so SageMaker may assume
        # it and set the source identity (the profile name, in CloudTrail); the persona opens only its own profile.
        if settings.studio.enabled:
            from stacks.studio import PERSONA_PROFILES  # the profile names; studio.py imports this module

            profiles = dict(zip(("DataScientistRole", "MlEngineerRole"), PERSONA_PROFILES.values(), strict=True))
            for name, persona in (("DataScientistRole", scientist), ("MlEngineerRole", engineer)):
                persona.role.assume_role_policy.add_statements(  # type: ignore[union-attr]
                    iam.PolicyStatement(
                        sid="StudioRunsThisPersonasProfile",
                        principals=[iam.ServicePrincipal("sagemaker.amazonaws.com")],
                        actions=["sts:AssumeRole", "sts:SetSourceIdentity"],
                        conditions={"StringEquals": {"aws:SourceAccount": self.account}},
                    )
                )
                profile = profiles[name]
                persona.allow(
                    "OpenOwnStudioProfile",
                    actions.STUDIO_USE,
                    [
                        self._sm("domain", "*"),
                        self._sm("user-profile", f"*/{profile}"),
                        self._sm("app", f"*/{profile}/*"),
                    ],
                )
                persona.allow("ListStudio", actions.STUDIO_LIST, ["*"])

        # The platform SDK's audit trail: whoever changes something through it appends a line.
        for writer in (sagemaker, scientist, engineer):
            data.audit_log_group.grant_write(writer.grantee)

        self.sagemaker_execution_role: iam.IRole = sagemaker.role
        self.lambda_execution_role: iam.IRole = lambda_.role
        self.data_scientist_role: iam.IRole = scientist.role
        self.ml_engineer_role: iam.IRole = engineer.role
        self.platform_roles = {
            "SageMakerExecutionRole": sagemaker,
            "LambdaExecutionRole": lambda_,
            "DataScientistRole": scientist,
            "MlEngineerRole": engineer,
        }
        self._suppress_scoped_wildcards()
        for key, role in (
            ("SageMakerExecutionRoleArn", sagemaker.role),
            ("DataScientistRoleArn", scientist.role),
            ("MlEngineerRoleArn", engineer.role),
        ):
            sdk_output(self, settings=settings, key=key, value=role.role_arn)

    # ARNs scoped to the stage's resource-name prefix
    def _sm(self, resource: str, name: str) -> str:
        return self.format_arn(service="sagemaker", resource=resource, resource_name=name)

    def _greengrass(self, resource: str) -> str:
        return f"arn:{self.partition}:greengrass:{self.region}:{self.account}:{resource}"

    def _log_groups(self, prefix: str) -> str:
        return self.format_arn(
            service="logs", resource="log-group", resource_name=f"{prefix}*", arn_format=ArnFormat.COLON_RESOURCE_NAME
        )

    def _registry_arns(self) -> list[str]:
        return [self._sm("model-package", f"{self._prefix}-*"), self._sm("model-package-group", f"{self._prefix}-*")]

    def _deployment_arns(self) -> list[str]:
        return [
            *self._registry_arns(),
            self._sm("model", f"{self._prefix}-*"),
            self._sm("endpoint-config", f"{self._prefix}-*"),
            self._sm("endpoint", f"{self._prefix}-*"),
        ]

    def _experiment_arns(self) -> list[str]:
        # Trials and trial components are named by SageMaker (pipeline execution IDs), not by the platform.
        return [
            self._sm("experiment", f"{self._prefix}-*"),
            self._sm("experiment-trial", "*"),
            self._sm("experiment-trial-component", "*"),
        ]

    def _suppress_scoped_wildcards(self) -> None:
        """One IAM5 suppression per role policy, limited to the wildcard shapes listed here.

        Any other wildcard (an action like ``s3:*``, a resource outside the stage prefix) stays a finding.
        """
        # The account is a token in an account-agnostic stage and a literal in the delivery pipeline's stages.
        arn = r"Resource::arn:[a-z-]+:{service}:[a-z0-9-]+:(<AWS::AccountId>|[0-9]{{12}}):"
        prefix = re.escape(self._prefix)
        stage_scoped = RegexAppliesTo(
            regex=rf"/^{arn.format(service='(sagemaker|cloudwatch)')}[a-z-]+[/:]{prefix}-\*$/g"
        )
        named_by_sagemaker = RegexAppliesTo(
            regex=rf"/^{arn.format(service='sagemaker')}"
            r"((experiment-trial|experiment-trial-component)\/\*|(processing-job|training-job)\/pipelines-\*)$/g"
        )
        sagemaker_logs = RegexAppliesTo(regex=rf"/^{arn.format(service='logs')}log-group:\/aws\/sagemaker\/\*$/g")
        lambda_logs = RegexAppliesTo(regex=rf"/^{arn.format(service='logs')}log-group:\/aws\/lambda\/{prefix}-\*$/g")
        greengrass = RegexAppliesTo(
            regex=rf"/^{arn.format(service='greengrass')}(components:{prefix}\.\*(:versions:\*)?|deployments:\*)$/g"
        )
        iot_jobs = RegexAppliesTo(
            regex=rf"/^{arn.format(service='iot')}((job|thing)\/\*|thinggroup\/{prefix}-project-\*)$/g"
        )
        edge_models = RegexAppliesTo(regex=r"/^Resource::<[A-Za-z]+Bucket[0-9A-F]{8}\.Arn>\/models\/\*$/g")
        live_baselines = RegexAppliesTo(regex=r"/^Resource::<ModelArtifactsBucket[0-9A-F]{8}\.Arn>\/monitoring\/\*$/g")
        studio = RegexAppliesTo(  # only with studio.enabled: the domain's ID is minted by SageMaker
            regex=rf"/^{arn.format(service='sagemaker')}(domain\/\*|user-profile\/\*\/[a-z-]+|app\/\*\/[a-z-]+\/\*)$/g"
        )
        projects = RegexAppliesTo(regex=rf"/^{arn.format(service='sagemaker')}project\/\*$/g")
        regional_ecr = RegexAppliesTo(regex=r"/^Resource::arn:[a-z-]+:ecr:[a-z0-9-]+:\*:repository\/\*$/g")
        common: list[str | RegexAppliesTo] = [*CDK_GRANT_ACTION_WILDCARDS, BUCKET_OBJECTS, stage_scoped]
        evidence: dict[str, tuple[str, list[str | RegexAppliesTo]]] = {
            "SageMakerExecutionRole": (
                "Object wildcards come from CDK grants on the stage's own buckets; SageMaker resources are scoped "
                "to the stage prefix, or to the names SageMaker Pipelines gives its jobs ('pipelines-') and "
                "trials; logs only to /aws/sagemaker/; SageMaker images live in AWS-owned ECR accounts of the "
                "region; GetAuthorizationToken and PutMetricData (namespace-conditioned) have no resource scope.",
                [*common, named_by_sagemaker, sagemaker_logs, regional_ecr, "Resource::*"],
            ),
            "LambdaExecutionRole": (
                "Reads the stage's model and pipeline artefacts (CDK grants, object wildcard) and deploys models "
                "and endpoints named with the stage prefix; logs only to the stage's own function log groups; "
                "X-Ray tracing, ListModelPackages, ListEndpointConfigs, CreateComponentVersion and "
                "ListDeployments have no resource scope. Edge side: writes model zips under models/ of the "
                "edge-deployments bucket, describes components named with the stage prefix, revises the stage's "
                "thing-group deployment and those of the edge intent projects' thing groups "
                "(<prefix>-project-*; deployment IDs are minted by Greengrass) and manages the IoT jobs and "
                "device shadows Greengrass runs it through (job IDs and device names are not the platform's). "
                "Monitoring: copies the live version's drift-check baselines under monitoring/ of the "
                "model-artefacts bucket.",
                [*common, lambda_logs, greengrass, iot_jobs, edge_models, live_baselines, "Resource::*"],
            ),
            "DataScientistRole": (
                "Reads the stage's raw and processed buckets (CDK grants, object wildcard); runs pipelines and "
                "experiments named with the stage prefix (trials are named by SageMaker); List/Search APIs have "
                "no resource scope. Approving and deploying models is explicitly denied. Launches SageMaker "
                "projects, whose names are the team's choice (project/*, this account and region).",
                [*common, named_by_sagemaker, projects, studio, "Resource::*"],
            ),
            "MlEngineerRole": (
                "Reads model artefacts and features (CDK grants, object wildcard); approves model packages, "
                "deploys endpoints, manages monitoring schedules and alarms named with the stage prefix; a rollback "
                "republishes the version's drift-check baselines under monitoring/ of the model-artefacts bucket; "
                "List/Search and GetMetricData have no resource scope. Both personas launch SageMaker projects, "
                "whose names are the team's choice (project/*, this account and region).",
                [*common, live_baselines, projects, studio, "Resource::*"],
            ),
        }
        for name, role in self.platform_roles.items():
            reason, applies_to = evidence[name]
            suppress(role.policy, IAM_WILDCARDS, reason, applies_to=applies_to)


def _persona_principal(principals: tuple[str, ...]) -> iam.IPrincipal:
    """Who may assume a persona role: the configured principals, or the account (IAM then decides)."""
    if not principals:
        return iam.AccountRootPrincipal()
    return iam.CompositePrincipal(*(iam.ArnPrincipal(arn) for arn in principals))
