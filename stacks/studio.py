"""Studio: the stage's SageMaker domain, so that teams launch the project templates (stacks/projects.py) from Studio.

Created only when ``studio.enabled`` (config): the domain itself bills nothing, but its home EFS volume bills storage
and every running app bills by the hour. Secure settings first, as in the careful public references:

- IAM authentication; VPC-only network access unless the stage has no VPC and ``studio.public_internet`` says so;
- the home EFS volume encrypted with the stage key; the domain (and so its volume) retained outside sandboxes;
- one user profile per persona, running as that persona's role (``data-scientist``, ``ml-engineer``);
- ``sourceIdentity`` propagation (``ExecutionRoleIdentityConfig: USER_PROFILE_NAME``): CloudTrail shows the profile
  behind every call an app makes with its execution role; the persona roles trust SageMaker to set it;
- a default execution role that may describe this domain and its two profiles, and nothing else.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct

from stacks import naming
from stacks.constructs.platform_role import PlatformRole
from stacks.data_foundation import DataFoundationStack
from stacks.identity import IdentityStack
from stacks.settings import StageSettings

PERSONA_PROFILES = {"DataScientistProfile": "data-scientist", "MlEngineerProfile": "ml-engineer"}
"""User profile construct ID -> profile name (also the ``sourceIdentity`` CloudTrail shows)."""
SOURCE_IDENTITY = "USER_PROFILE_NAME"


class StudioStack(Stack):
    """Creates ``self.domain`` (``AWS::SageMaker::Domain``), ``self.profiles`` (one ``AWS::SageMaker::UserProfile``
    per persona) and ``self.default_execution_role``.

    Grants: the default execution role may describe this domain and its profiles; SageMaker may use the stage key
    for the domain's EFS volume (key policy: through EFS and SageMaker of this account and region only). The persona
    roles' trust of SageMaker and their Studio permissions are set in the Identity stack (``studio.enabled``).
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
        prefix = settings.resource_prefix
        security_groups = list(settings.studio_security_group_ids)
        data.platform_key.allow_studio_volumes()

        sagemaker_of_this_account = iam.ServicePrincipal(
            "sagemaker.amazonaws.com", conditions={"StringEquals": {"aws:SourceAccount": self.account}}
        )
        default = PlatformRole(
            self,
            "DefaultExecutionRole",
            assumed_by=sagemaker_of_this_account,
            role_path=naming.role_path(settings),
            description=f"Default execution role of {prefix}'s Studio domain: describes the domain, nothing else",
        )
        default.role.assume_role_policy.add_statements(  # type: ignore[union-attr]
            iam.PolicyStatement(
                sid="SageMakerSetsTheProfileAsSourceIdentity",
                principals=[sagemaker_of_this_account],
                actions=["sts:SetSourceIdentity"],
            )
        )
        self.default_execution_role: iam.IRole = default.role

        self.domain = sagemaker.CfnDomain(
            self,
            "Domain",
            domain_name=f"{prefix}-studio",
            auth_mode="IAM",
            vpc_id=settings.studio.vpc_id or "",
            subnet_ids=list(settings.studio_subnet_ids),
            app_network_access_type=settings.studio_network_access,
            kms_key_id=data.key.key_arn,
            default_user_settings=sagemaker.CfnDomain.UserSettingsProperty(
                execution_role=default.role.role_arn, security_groups=security_groups
            ),
            domain_settings=sagemaker.CfnDomain.DomainSettingsProperty(
                execution_role_identity_config=SOURCE_IDENTITY, security_group_ids=security_groups
            ),
            tag_propagation="ENABLED",  # the stage's cost tags reach the apps and spaces Studio creates
        )
        self.domain.apply_removal_policy(RemovalPolicy.RETAIN if settings.retain else RemovalPolicy.DESTROY)

        roles = {"DataScientistProfile": identity.data_scientist_role, "MlEngineerProfile": identity.ml_engineer_role}
        self.profiles: dict[str, sagemaker.CfnUserProfile] = {}
        for construct_id_, name in PERSONA_PROFILES.items():
            self.profiles[name] = sagemaker.CfnUserProfile(
                self,
                construct_id_,
                domain_id=self.domain.attr_domain_id,
                user_profile_name=name,
                user_settings=sagemaker.CfnUserProfile.UserSettingsProperty(
                    execution_role=roles[construct_id_].role_arn, security_groups=security_groups
                ),
            )
        default.allow(
            "DescribeThisDomainOnly",
            ["sagemaker:DescribeDomain", "sagemaker:DescribeUserProfile"],
            [self.domain.attr_domain_arn, *(p.attr_user_profile_arn for p in self.profiles.values())],
        )
