"""SageMaker Project templates: a Service Catalog portfolio whose products a team launches from Studio or the CLI.

Two products, each a ``servicecatalog.ProductStack`` (a template synthesized from constructs, checked by the same
cdk-nag packs as every stack of the stage) and tagged ``sagemaker:studio-visibility=true`` so that Studio lists it:

- *tabular model project*: the adherence pipeline's shape (``pipeline_code.adherence.specs``), its own model
  package group, raw-data prefix and retraining triggers (new data under its prefix; the stage's schedule if any);
- *edge intent model project*: the intent pipeline (``pipeline_code.intent.specs``) and its own model package group;
  its train/valid/test files under its own prefix; its own thing group ``<prefix>-project-<name>-devices``.

Deployer wiring: each product has its own approvals rule ``<prefix>-<name>-approved`` for its own group, targeting
the stage's deployer by its fixed name (``naming.deployer_function_name``; the Serving stack lets rules of that name
pattern invoke it and use its dead-letter queue) with the event wrapped so the deployer knows the project's kind:
tabular -> the project's endpoint ``<prefix>-<name>``; edge intent -> the project's own model component
``<prefix>.project.<name>.IntentModel`` on its own thing group (``pipeline_code.deploy.handler``).

A launched project names everything from the ``SageMakerProjectName`` and ``SageMakerProjectId`` parameters that
SageMaker passes: ``<prefix>-<project name>`` for the pipeline, the model package group and the triggers, and
``projects/<project name>-<project id>/`` in the stage's raw-data bucket (run artefacts go under
``pipelines/<pipeline name>/`` of the pipeline-artifacts bucket, as for the platform's own pipelines). The products
reuse the platform's constructs (``DagPipeline``, ``RetrainingTriggers``) and its assets (step image, intent image,
step code of the MlPlatform stack), so a project runs exactly the code the platform runs. Its pipeline runs as the
stage's SageMaker execution role, whose policies already cover every ``<prefix>-*`` name.

The launch role is derived from the product templates: every resource type in them must have an entry in
``iam_actions.PROJECT_LAUNCH_BY_RESOURCE_TYPE`` (the synth fails otherwise), and the role (in the Guardrails stack)
is denied every action outside that derived set. Its allows are the stage's permissions boundary, attached as its
permissions policy (the boundary's statements for launching name the Service Catalog stacks, the stage's role and
policy path, roles only created with the boundary, and SageMaker/EventBridge/Scheduler names with the stage
prefix): no second allow-list that could drift from the boundary, and no new wildcard without the boundary's
itemised evidence.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import ArnFormat, CfnParameter, CfnResource, Fn, Stack, Tags
from aws_cdk import aws_ecr_assets as ecr_assets
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_iot as iot
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_assets as s3_assets
from aws_cdk import aws_sagemaker as sagemaker
from aws_cdk import aws_servicecatalog as servicecatalog
from aws_cdk import aws_sns as sns
from constructs import Construct

from mlops_sdk.outputs import export_name
from pipeline_code.adherence.specs import DEFINITION as ADHERENCE
from pipeline_code.adherence.specs import INGEST
from pipeline_code.dag import PipelinePlan, assemble
from pipeline_code.dag.sagemaker import InputFile, JobResources
from pipeline_code.deploy.decisions import APPROVED, DETAIL_TYPE, SOURCE
from pipeline_code.deploy.handler import EDGE, PROJECT
from pipeline_code.deploy.settings import ALARM_SUFFIXES
from pipeline_code.edge import recipe as recipes
from pipeline_code.intent.specs import DEFINITION as INTENT
from stacks import iam_actions as actions
from stacks import naming
from stacks.constructs.dag_pipeline import DagPipeline, PipelineJobs
from stacks.constructs.retraining_triggers import RetrainingTriggers
from stacks.data_foundation import DataFoundationStack
from stacks.guardrails import GuardrailsStack
from stacks.identity import IdentityStack
from stacks.ml_platform import MlPlatformStack, intent_input_files
from stacks.serving import endpoint_alarms
from stacks.settings import StageSettings

STUDIO_VISIBILITY = ("sagemaker:studio-visibility", "true")
PROJECT_NAME = "SageMakerProjectName"
PROJECT_ID = "SageMakerProjectId"
# SageMaker project names: 1-32 characters, a letter first, hyphens only between letters/digits.
PROJECT_NAME_PATTERN = r"^[a-zA-Z](-*[a-zA-Z0-9])*$"
PROJECT_ID_PATTERN = r"^p-[a-z0-9]{1,20}$"
RULE_SUFFIX, SCHEDULE_SUFFIX = "-new-data", "-retrain"
APPROVALS_SUFFIX = naming.PROJECT_APPROVALS_SUFFIX  # the project's approvals rule -> the stage's deployer
RULE_RETRIES, RULE_MAX_EVENT_AGE_S = 8, 6 * 3600  # as the Serving stack's own approvals rules
PRODUCT_VERSION = "v1"
# What a project's approvals rule sends the deployer (pipeline_code.deploy.handler): the whole event, wrapped.
TABULAR_TARGET = f'{{"target": "{PROJECT}", "event": <aws.events.event.json>}}'
EDGE_TARGET = f'{{"target": "{EDGE}", "project": true, "event": <aws.events.event.json>}}'


def project_name_max_length(settings: StageSettings) -> int:
    """Longest project name whose derived names fit: EventBridge rule and schedule names (64), groups (63)."""
    longest_suffix = max(len(RULE_SUFFIX), len(SCHEDULE_SUFFIX), len(APPROVALS_SUFFIX))
    return min(32, 64 - len(settings.resource_prefix) - 1 - longest_suffix)


class ProjectProduct(servicecatalog.ProductStack):
    """A product template: the two SageMaker project parameters and ``self.project_name`` (``<prefix>-<name>``),
    ``self.data_prefix`` (``projects/<name>-<id>/``); subclasses add the project's resources."""

    def __init__(self, scope: Construct, construct_id: str, *, settings: StageSettings, description: str) -> None:
        super().__init__(scope, construct_id, description=description)
        name = CfnParameter(
            self,
            PROJECT_NAME,
            type="String",
            min_length=1,
            max_length=project_name_max_length(settings),
            allowed_pattern=PROJECT_NAME_PATTERN,
            description="Name of the SageMaker project (SageMaker passes it)",
        )
        project_id = CfnParameter(
            self,
            PROJECT_ID,
            type="String",
            allowed_pattern=PROJECT_ID_PATTERN,
            description="ID of the SageMaker project (SageMaker passes it)",
        )
        self.name = name.value_as_string
        self.project_name = f"{settings.resource_prefix}-{name.value_as_string}"
        self.data_prefix = f"projects/{name.value_as_string}-{project_id.value_as_string}/"

        # The stage's objects, through the exports the platform SDK reads too (a product template is provisioned on
        # its own, later: it imports at launch what the platform's stacks published).
        def imported(key: str) -> str:
            return Fn.import_value(export_name(settings.resource_prefix, key))

        self.key = kms.Key.from_key_arn(self, "PlatformKey", imported("PlatformKeyArn"))
        self.execution_role = iam.Role.from_role_arn(
            self, "SageMakerExecutionRole", imported("SageMakerExecutionRoleArn"), mutable=False
        )
        # Every role of the product carries the stage's boundary, by its full ARN (path included): the launch role
        # may create roles only with exactly this boundary.
        iam.PermissionsBoundary.of(self).apply(
            iam.ManagedPolicy.from_managed_policy_arn(self, "Boundary", naming.permissions_boundary_arn(settings))
        )
        self.raw_data_bucket = s3.Bucket.from_bucket_name(self, "RawDataBucket", imported("RawDataBucketName"))
        self.pipeline_artifacts_bucket = s3.Bucket.from_bucket_name(
            self, "PipelineArtifactsBucket", imported("PipelineArtifactsBucketName")
        )

    def approvals_rule(self, settings: StageSettings, *, input_template: str, what: str) -> events.CfnRule:
        """``<prefix>-<name>-approved``: Approved packages of the project's own group -> the stage's deployer (by its
        fixed name), the event wrapped by ``input_template`` so the deployer knows it is a project's; retried, and
        kept in the deployer's dead-letter queue (the Serving stack lets these rules, and only them, use both)."""
        function_arn = Stack.of(self).format_arn(
            service="lambda",
            resource="function",
            resource_name=naming.deployer_function_name(settings),
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
        queue_arn = Stack.of(self).format_arn(
            service="sqs",
            resource=naming.deployer_dead_letter_queue_name(settings),
            arn_format=ArnFormat.NO_RESOURCE_NAME,
        )
        return events.CfnRule(
            self,
            "ApprovedModelPackages",
            name=f"{self.project_name}{APPROVALS_SUFFIX}",
            description=f"Approved model packages of the SageMaker project's group -> {what}",
            event_pattern={
                "source": [SOURCE],
                "detail-type": [DETAIL_TYPE],
                "detail": {"ModelApprovalStatus": [APPROVED], "ModelPackageGroupName": [self.project_name]},
            },
            state="ENABLED",
            targets=[
                events.CfnRule.TargetProperty(
                    id="Deployer",
                    arn=function_arn,
                    input_transformer=events.CfnRule.InputTransformerProperty(input_template=input_template),
                    retry_policy=events.CfnRule.RetryPolicyProperty(
                        maximum_retry_attempts=RULE_RETRIES, maximum_event_age_in_seconds=RULE_MAX_EVENT_AGE_S
                    ),
                    dead_letter_config=events.CfnRule.DeadLetterConfigProperty(arn=queue_arn),
                )
            ],
        )

    def project_pipeline(
        self,
        *,
        group: CfnResource,
        plan: PipelinePlan,
        step_image: ecr_assets.DockerImageAsset,
        step_code: s3_assets.Asset,
        jobs: PipelineJobs,
        description: str,
        input_files: dict[str, tuple[InputFile, ...]] | None = None,
    ) -> DagPipeline:
        """The project's pipeline ``<prefix>-<name>``: the platform's construct on the project's raw-data prefix, run
        artefacts and experiment named after the project, registering into its own ``group`` (created first)."""
        pipeline = DagPipeline(
            self,
            "Pipeline",
            plan=plan,
            pipeline_name=self.project_name,
            role=self.execution_role,
            artifacts_bucket=self.pipeline_artifacts_bucket,
            key=self.key,
            step_image=step_image,
            step_code=step_code,
            input_data_uri=self.raw_data_bucket.s3_url_for_object(self.data_prefix),
            input_files=input_files,
            model_package_group_name=self.project_name,
            experiment_name=self.project_name,
            jobs=jobs,
            description=description,
            grant_code_read=False,  # the MlPlatform stack's pipelines grant the same role the same asset
        )
        pipeline.pipeline.node.add_dependency(group)
        return pipeline

    def resource_types(self) -> set[str]:
        return {c.cfn_resource_type for c in self.node.find_all() if isinstance(c, CfnResource)}


def _jobs(settings: StageSettings, training_instance_type: str) -> PipelineJobs:
    cfg = settings.ml_platform
    runtime_s = cfg.max_runtime_minutes * 60
    return PipelineJobs(
        processing=JobResources(cfg.processing_instance_type, 1, cfg.volume_size_gb, runtime_s),
        training=JobResources(training_instance_type, 1, cfg.volume_size_gb, runtime_s),
        subnet_ids=cfg.subnet_ids,
        security_group_ids=cfg.security_group_ids,
    )


class TabularModelProject(ProjectProduct):
    """Creates the project's model package group, its adherence-shaped pipeline (ingesting into the stage's
    adherence feature group), its retraining triggers on ``projects/<name>-<id>/`` of the raw-data bucket and
    ``self.approvals`` (its approved versions -> the deployer -> its endpoint ``<prefix>-<name>``)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: StageSettings,
        ml_platform: MlPlatformStack,
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            settings=settings,
            description=f"{settings.resource_prefix}: tabular model project (adherence pipeline shape)",
        )
        cfg = settings.ml_platform
        group = _model_package_group(self, self.project_name, "tabular")
        plan = assemble(ADHERENCE, {INGEST: {"feature_group_name": ml_platform.feature_group.feature_group_name}})
        pipeline = self.project_pipeline(
            group=group,
            plan=plan,
            step_image=ml_platform.step_image,
            step_code=ml_platform.step_code,
            jobs=_jobs(settings, cfg.training_instance_type),
            description=ADHERENCE.description,
        )
        triggers = RetrainingTriggers(
            self,
            "Retraining",
            pipeline_name=self.project_name,
            pipeline_arn=pipeline.pipeline_arn,
            bucket=self.raw_data_bucket,
            prefix=self.data_prefix,
            on_new_data=cfg.retrain_on_new_data,
            schedule=cfg.retraining_schedule,
            schedule_timezone=cfg.schedule_timezone,
            role_path=naming.role_path(settings),
            policy_path=naming.role_path(settings),
            rule_name=f"{self.project_name}{RULE_SUFFIX}",
            schedule_name=f"{self.project_name}{SCHEDULE_SUFFIX}",
        )
        for trigger in (triggers.rule, triggers.schedule):
            if trigger is not None:
                trigger.node.add_dependency(pipeline.pipeline)
        # Approved versions go to the project's own endpoint, <prefix>-<project name> (pipeline_code.deploy)
        self.approvals = self.approvals_rule(
            settings, input_template=TABULAR_TARGET, what=f"the endpoint {self.project_name}"
        )
        self.approvals.node.add_dependency(group)
        # The two alarms a blue/green update of that endpoint rolls back on (provisioned stages), as the Serving
        # stack makes them for the platform's models, notifying the same topic (named, so it is found by ARN).
        self.alarms: tuple[Any, ...] = ()
        if settings.serving.endpoint_alarms:
            topic = sns.Topic.from_topic_arn(
                self,
                "EndpointAlarmsTopic",
                Stack.of(self).format_arn(
                    service="sns",
                    resource=naming.endpoint_alarms_topic_name(settings),
                    arn_format=ArnFormat.NO_RESOURCE_NAME,
                ),
            )
            self.alarms = endpoint_alarms(
                self,
                id_prefix="Endpoint",
                endpoint=self.project_name,
                names=(f"{self.project_name}{ALARM_SUFFIXES[0]}", f"{self.project_name}{ALARM_SUFFIXES[1]}"),
                errors=settings.serving.errors_5xx,
                latency_ms=settings.serving.latency_p99_ms,
                topic=topic,
            )


class EdgeIntentModelProject(ProjectProduct):
    """Creates the project's model package group and its intent pipeline, whose train/valid/test CSV parameters
    default to ``projects/<name>-<id>/<split>.csv`` of the raw-data bucket. Started by hand once the three files are
    there (as the platform's intent pipeline: three uploads are not three reasons to train). Also ``self.thing_group``
    (the project's devices) and ``self.approvals`` (its approved versions -> the deployer's edge side -> its own model
    component on that thing group)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: StageSettings,
        ml_platform: MlPlatformStack,
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            settings=settings,
            description=f"{settings.resource_prefix}: edge intent model project (intent pipeline)",
        )
        group = _model_package_group(self, self.project_name, "edge intent")
        self.project_pipeline(
            group=group,
            plan=assemble(INTENT),
            step_image=ml_platform.intent_image,
            step_code=ml_platform.step_code,
            jobs=_jobs(settings, settings.ml_platform.intent_training_instance_type),
            description=INTENT.description,
            input_files={"raw_data": intent_input_files(self.raw_data_bucket, self.data_prefix)},
        )
        # Its own devices: a thing group and model component named from the project (recipe.project_*), so two
        # projects (and the stage's own intent model) never share either; its devices run the stage's app component.
        self.thing_group = iot.CfnThingGroup(
            self,
            "ThingGroup",
            thing_group_name=recipes.project_thing_group_name(settings.resource_prefix, self.name),
            thing_group_properties=iot.CfnThingGroup.ThingGroupPropertiesProperty(
                thing_group_description=f"Devices of SageMaker project {self.project_name}: the intent edge app"
            ),
        )
        self.approvals = self.approvals_rule(
            settings,
            input_template=EDGE_TARGET,
            what=f"the component {recipes.project_model_component_name(settings.resource_prefix, self.name)}",
        )
        self.approvals.node.add_dependency(group)
        self.approvals.node.add_dependency(self.thing_group)


def _model_package_group(scope: Construct, name: str, kind: str) -> CfnResource:
    return sagemaker.CfnModelPackageGroup(
        scope,
        "ModelPackageGroup",
        model_package_group_name=name,
        model_package_group_description=f"{kind} models of SageMaker project {name}; registered pending approval",
    )


class ProjectsStack(Stack):
    """Creates ``self.portfolio`` (Service Catalog), ``self.products`` (``tabular``, ``edge-intent``: products built
    from ``TabularModelProject`` and ``EdgeIntentModelProject``, Studio-visible), the launch constraint of both (the
    Guardrails stack's ``project_launch_role``, ``self.launch_role``, narrowed here to ``self.launch_actions``) and
    the portfolio's principal associations.

    Grants: the data-scientist and ML-engineer roles may see and launch the products (portfolio access; their
    identity policies, in the Identity stack, allow the Service Catalog end-user and SageMaker project calls);
    Service Catalog of this account may assume the launch role, which may do exactly what the product templates
    need (derived from their resource types) within the stage's permissions boundary.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: StageSettings,
        guardrails: GuardrailsStack,
        data: DataFoundationStack,
        identity: IdentityStack,
        ml_platform: MlPlatformStack,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        prefix = settings.resource_prefix
        # The product templates import the platform's names and assets when a project is launched.
        for producer in (data, identity, ml_platform):
            self.add_stack_dependency(producer, "product templates import its exports at launch")

        self.portfolio = servicecatalog.Portfolio(
            self,
            "ProjectTemplates",
            display_name=f"{prefix} SageMaker project templates",
            provider_name=settings.owner,
            description=f"SageMaker project templates of {prefix}: tabular model, edge intent model",
        )
        templates: dict[str, tuple[str, ProjectProduct, str]] = {
            "tabular": (
                "TabularModelProject",
                TabularModelProject(self, "TabularModelProject", settings=settings, ml_platform=ml_platform),
                "Tabular model project: a pipeline of the adherence model's shape (validate, features, train, "
                "evaluate, register), its model package group and retraining on new data",
            ),
            "edge-intent": (
                "EdgeIntentModelProject",
                EdgeIntentModelProject(self, "EdgeIntentModelProject", settings=settings, ml_platform=ml_platform),
                "Edge intent model project: the intent pipeline (fine-tune, int8 ONNX export, evaluate, register) "
                "and its model package group; approved versions are what the stage's devices run",
            ),
        }
        self.product_stacks = {key: template for key, (_, template, _) in templates.items()}
        self.resource_types: set[str] = set().union(*(s.resource_types() for s in self.product_stacks.values()))
        self.launch_actions = actions.project_launch_actions(self.resource_types)

        self.launch_role = guardrails.project_launch_role
        self.launch_denies = self._narrow_launch_role(settings, guardrails.boundary_actions)
        self.products: dict[str, servicecatalog.CloudFormationProduct] = {}
        for key, (construct_id, product_stack, description) in templates.items():
            product = servicecatalog.CloudFormationProduct(
                self,
                f"{construct_id}Product",
                product_name=f"{prefix}-{key}-model-project",
                owner=settings.owner,
                description=description,
                product_versions=[
                    servicecatalog.CloudFormationProductVersion(
                        product_version_name=PRODUCT_VERSION,
                        cloud_formation_template=servicecatalog.CloudFormationTemplate.from_product_stack(
                            product_stack
                        ),
                    )
                ],
            )
            Tags.of(product).add(*STUDIO_VISIBILITY)
            self.portfolio.add_product(product)
            self.portfolio.set_launch_role(product, self.launch_role)
            product.node.add_dependency(self.launch_denies)  # never launchable before the role is narrowed
            self.products[key] = product
        for role in (identity.data_scientist_role, identity.ml_engineer_role):
            self.portfolio.give_access_to_role(role)

    def _narrow_launch_role(self, settings: StageSettings, boundary_actions: list[str]) -> iam.ManagedPolicy:
        """The launch role's second policy, denies only: every action of its allow-list (the boundary) outside what
        the product templates need (``self.launch_actions``), each named (no wildcard actions, not even in a deny);
        the actions no product may need; and reads of the stage's data."""
        surplus = sorted(set(boundary_actions) - set(self.launch_actions))
        return iam.ManagedPolicy(
            self,
            "LaunchRoleDenies",
            roles=[self.launch_role],
            path=naming.launch_role_path(settings),
            description=f"What the launch role of {settings.resource_prefix}'s project templates may not do",
            statements=[
                iam.PolicyStatement(
                    sid="NothingTheProductTemplatesDoNotNeed",
                    effect=iam.Effect.DENY,
                    actions=surplus,
                    resources=["*"],
                ),
                iam.PolicyStatement(
                    sid="NeverLiftTheBoundaryNorUseInlinePolicies",
                    effect=iam.Effect.DENY,
                    actions=list(actions.PROJECT_LAUNCH_NEVER),
                    resources=["*"],
                ),
                iam.PolicyStatement(  # CloudFormation reads templates, never the stage's data
                    sid="NeverReadStageData",
                    effect=iam.Effect.DENY,
                    actions=list(actions.PROJECT_TEMPLATE_READ),
                    resources=[f"arn:{self.partition}:s3:::{naming.bucket_name_prefix(settings)}*/*"],
                ),
            ],
        )
