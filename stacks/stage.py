"""One deployable stage (dev, staging, prod, a sandbox): the same stacks, different settings."""

from __future__ import annotations

from aws_cdk import Environment, Stage, Tags
from aws_cdk import aws_iam as iam
from constructs import Construct

from stacks.budgets import BudgetStack
from stacks.data_foundation import DataFoundationStack, DataReplicaStack
from stacks.edge import EdgeStack
from stacks.guardrails import GuardrailsStack
from stacks.identity import IdentityStack
from stacks.ml_platform import MlPlatformStack
from stacks.monitoring import MonitoringStack
from stacks.nag import apply_nag_packs
from stacks.projects import ProjectsStack
from stacks.serving import ServingStack
from stacks.settings import StageSettings
from stacks.studio import StudioStack


class MlopsStage(Stage):
    """Creates the stage's stacks, in deployment order:

    ``Guardrails`` (permissions boundary) -> ``DataReplica`` (replica region, if the stage replicates) ->
    ``DataFoundation`` (key, buckets) -> ``Identity`` (roles) -> ``MlPlatform`` (pipelines, feature groups, model
    registry, retraining triggers) -> ``Serving`` (approval-driven deployer, endpoint alarms) -> ``Monitoring``
    (Model Monitor schedules, alarms, dashboard; only with ``monitoring.enabled``); ``Edge`` (Greengrass app
    component, thing group, deployment); ``Projects`` (SageMaker project templates: Service Catalog portfolio of
    ProductStacks); ``Studio`` (SageMaker domain, only with ``studio.enabled``); ``Budgets``.

    Every role of the stage carries the permissions boundary (the projects' launch role has it as its allow-list
    instead, see ``GuardrailsStack``), every resource the cost tags, and the three cdk-nag packs check everything
    inside the stage, the product templates included (Aspects do not cross stage boundaries, so they are added
    here).
    """

    def __init__(self, scope: Construct, construct_id: str, *, settings: StageSettings) -> None:
        super().__init__(scope, construct_id)
        env = Environment(account=settings.account, region=settings.region)
        self.settings = settings

        self.guardrails = GuardrailsStack(
            self,
            "Guardrails",
            settings=settings,
            env=env,
            description=f"{settings.resource_prefix}: permissions boundary of every platform role",
        )
        self.replica: DataReplicaStack | None = None
        if settings.replication is not None:
            self.replica = DataReplicaStack(
                self,
                "DataReplica",
                settings=settings,
                env=Environment(account=settings.account, region=settings.replication.region),
                description=f"{settings.resource_prefix}: disaster-recovery replica of the data foundation",
                termination_protection=settings.retain,
            )
        self.data = DataFoundationStack(
            self,
            "DataFoundation",
            settings=settings,
            env=env,
            description=f"{settings.resource_prefix}: KMS key, data buckets, access logs (stateful)",
            termination_protection=settings.retain,
        )
        self.identity = IdentityStack(
            self,
            "Identity",
            settings=settings,
            data=self.data,
            env=env,
            description=f"{settings.resource_prefix}: execution and persona roles",
        )
        self.ml_platform = MlPlatformStack(
            self,
            "MlPlatform",
            settings=settings,
            data=self.data,
            identity=self.identity,
            env=env,
            description=f"{settings.resource_prefix}: SageMaker pipelines, feature groups, model registry, triggers",
        )
        self.serving = ServingStack(
            self,
            "Serving",
            settings=settings,
            data=self.data,
            identity=self.identity,
            env=env,
            description=f"{settings.resource_prefix}: approval-driven model deployer, endpoint alarms, rollback",
        )
        self.monitoring: MonitoringStack | None = None
        if settings.monitoring.enabled:
            self.monitoring = MonitoringStack(
                self,
                "Monitoring",
                settings=settings,
                data=self.data,
                identity=self.identity,
                serving=self.serving,
                env=env,
                description=f"{settings.resource_prefix}: Model Monitor schedules, model alarms, dashboard",
            )
        self.edge = EdgeStack(
            self,
            "Edge",
            settings=settings,
            data=self.data,
            env=env,
            description=f"{settings.resource_prefix}: Greengrass edge app component, device group, token-exchange role",
        )
        self.projects = ProjectsStack(
            self,
            "Projects",
            settings=settings,
            guardrails=self.guardrails,
            data=self.data,
            identity=self.identity,
            ml_platform=self.ml_platform,
            env=env,
            description=f"{settings.resource_prefix}: SageMaker project templates (Service Catalog portfolio)",
        )
        self.studio: StudioStack | None = None
        if settings.studio.enabled:
            self.studio = StudioStack(
                self,
                "Studio",
                settings=settings,
                data=self.data,
                identity=self.identity,
                env=env,
                description=f"{settings.resource_prefix}: SageMaker Studio domain and the personas' user profiles",
                termination_protection=settings.retain,
            )
            iam.PermissionsBoundary.of(self.studio).apply(self.guardrails.permissions_boundary)
        self.budgets = BudgetStack(
            self,
            "Budgets",
            settings=settings,
            platform_key=self.data.platform_key,
            env=env,
            description=f"{settings.resource_prefix}: monthly cost budget and alerts",
        )

        if self.replica is not None:
            # Replication rules name their destinations (no cross-region reference), so order is explicit.
            self.data.add_stack_dependency(self.replica, "replication destinations must exist first")
        for stack in (self.data, self.identity, self.ml_platform, self.serving, self.edge, self.budgets, self.projects):
            iam.PermissionsBoundary.of(stack).apply(self.guardrails.permissions_boundary)
        if self.monitoring is not None:
            iam.PermissionsBoundary.of(self.monitoring).apply(self.guardrails.permissions_boundary)

        for key, value in sorted(settings.cost_tags.items()):
            Tags.of(self).add(key, value)
        apply_nag_packs(self)
