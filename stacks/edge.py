"""The edge stack: the intent inference app as a Greengrass v2 component, the devices' thing group, the token-exchange
role and its role alias, and the group's initial deployment (with rollback).

The app's recipe is rendered in code (:func:`pipeline_code.edge.recipe.app_recipe`); its version is the content hash
of the app's files and of the recipe, so the same bytes give the same version and a redeploy never conflicts. The
code is a CDK file asset read from where CDK puts it (as the pipeline step code is, see ``stacks/ml_platform.py``):
the token-exchange role may read exactly that object. A trained model is not known at synth: the edge deployer adds
it as a second component when an intent package is approved.
"""

from __future__ import annotations

from pathlib import Path

from aws_cdk import Stack
from aws_cdk import aws_greengrassv2 as greengrass
from aws_cdk import aws_iam as iam
from aws_cdk import aws_iot as iot
from aws_cdk import aws_s3_assets as s3_assets
from constructs import Construct

from pipeline_code.edge import recipe as recipes
from stacks import naming
from stacks.constructs.platform_role import PlatformRole
from stacks.data_foundation import DataFoundationStack
from stacks.settings import StageSettings

ROOT = Path(__file__).resolve().parents[1]
# What the device runs: the edge package and the two intent runtime modules it imports (no training code).
APP_FILES = (
    "pipeline_code/__init__.py",
    "pipeline_code/edge/__init__.py",
    "pipeline_code/edge/__main__.py",
    "pipeline_code/edge/app.py",
    "pipeline_code/edge/handler.py",
    "pipeline_code/edge/metrics.py",
    "pipeline_code/edge/model.py",
    "pipeline_code/edge/recipe.py",
    "pipeline_code/edge/transports.py",
    "pipeline_code/intent/__init__.py",
    "pipeline_code/intent/oos.py",
    "pipeline_code/intent/runtime.py",
)
APP_EXCLUDES = ["*", *(f"!{path}" for path in APP_FILES)]
HEALTH_CHECK_TIMEOUT_S = 120  # a component that is not RUNNING by then fails the deployment (-> rollback)
JOB_IN_PROGRESS_TIMEOUT_MIN = 30


def app_files(root: Path = ROOT) -> dict[str, bytes]:
    return {path: (root / path).read_bytes() for path in APP_FILES}


def app_version(files: dict[str, bytes], *, prefix: str) -> str:
    """The version of the app component: a function of the files and of the recipe (placeholders for the rest)."""
    template = recipes.app_recipe(prefix=prefix, artifact_uri="", unarchived_folder="", version="")
    return recipes.version_from_hash(recipes.content_hash(files, template))


class EdgeStack(Stack):
    """Creates ``self.app_component`` (AWS::GreengrassV2::ComponentVersion), ``self.thing_group``, the token-exchange
    role ``self.token_exchange`` with ``self.role_alias``, and ``self.deployment`` (the thing group's initial
    deployment, ROLLBACK on failure).

    Grants: the token-exchange role (assumed by devices through the IoT credentials provider) may read the app's
    code object and decrypt with the stage key; the edge-deployments bucket policy lets it read the ``models/`` prefix.
    Nothing else.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: StageSettings,
        data: DataFoundationStack,
        **kwargs: object,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)  # type: ignore[arg-type]
        prefix = settings.resource_prefix
        self.app_code = s3_assets.Asset(self, "AppCode", path=str(ROOT), exclude=APP_EXCLUDES)
        self.app_version = app_version(app_files(), prefix=prefix)
        self.recipe = recipes.app_recipe(
            prefix=prefix,
            artifact_uri=self.app_code.s3_object_url,
            unarchived_folder=self.app_code.asset_hash,
            version=self.app_version,
        )
        self.app_component = greengrass.CfnComponentVersion(
            self, "AppComponent", inline_recipe=self.stack_json(self.recipe)
        )

        self.token_exchange = PlatformRole(
            self,
            "TokenExchange",
            assumed_by=iam.ServicePrincipal("credentials.iot.amazonaws.com"),
            role_path=naming.role_path(settings),
            description=f"{prefix}: Greengrass devices' token-exchange role (component artefacts only)",
            role_name=naming.edge_token_exchange_role_name(settings),
        )
        self.token_exchange.allow(
            "ReadAppCode", ["s3:GetObject"], [self.app_code.bucket.arn_for_objects(self.app_code.s3_object_key)]
        )
        # Model artefacts (models/...) are granted by the edge-deployments bucket policy to this role's ARN (see
        # DataFoundationStack): their keys are only known at approval time and a wildcard here would need a
        # suppression. Both the app object and the models are encrypted with the stage key.
        self.token_exchange.allow("DecryptArtefacts", ["kms:Decrypt"], [data.key.key_arn])
        self.role_alias = iot.CfnRoleAlias(
            self,
            "RoleAlias",
            role_alias=f"{prefix}-edge-token-exchange",
            role_arn=self.token_exchange.role.role_arn,
            credential_duration_seconds=3600,
        )
        self.thing_group = iot.CfnThingGroup(
            self,
            "ThingGroup",
            thing_group_name=recipes.thing_group_name(prefix),
            thing_group_properties=iot.CfnThingGroup.ThingGroupPropertiesProperty(
                thing_group_description=f"{prefix}: devices that run the intent edge app"
            ),
        )
        self.deployment = greengrass.CfnDeployment(
            self,
            "Deployment",
            target_arn=self.thing_group.attr_arn,
            deployment_name=f"{prefix}-edge-intent",
            components={
                recipes.app_component_name(prefix): greengrass.CfnDeployment.ComponentDeploymentSpecificationProperty(
                    component_version=self.app_component.attr_component_version
                )
            },
            deployment_policies=greengrass.CfnDeployment.DeploymentPoliciesProperty(
                failure_handling_policy="ROLLBACK",
                component_update_policy=greengrass.CfnDeployment.DeploymentComponentUpdatePolicyProperty(
                    action="NOTIFY_COMPONENTS", timeout_in_seconds=HEALTH_CHECK_TIMEOUT_S
                ),
                configuration_validation_policy=greengrass.CfnDeployment.DeploymentConfigurationValidationPolicyProperty(
                    timeout_in_seconds=HEALTH_CHECK_TIMEOUT_S
                ),
            ),
            iot_job_configuration=greengrass.CfnDeployment.DeploymentIoTJobConfigurationProperty(
                timeout_config=greengrass.CfnDeployment.IoTJobTimeoutConfigProperty(
                    in_progress_timeout_in_minutes=JOB_IN_PROGRESS_TIMEOUT_MIN
                )
            ),
        )

    def stack_json(self, document: dict) -> str:
        return self.to_json_string(document)
