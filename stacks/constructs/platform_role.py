"""A platform role: under the stage's IAM path, bounded, with its grants in a customer-managed policy."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Duration
from aws_cdk import aws_iam as iam
from constructs import Construct

from stacks.constructs.grantee import ManagedPolicyGrantee


class PlatformRole(Construct):
    """Creates ``self.role`` (path ``role_path``, the stage's permissions boundary) and ``self.grantee``.

    Grant to ``self.grantee`` (``bucket.grant_read(role.grantee)``): the statements land in ``self.policy``, a
    customer-managed policy, never in an inline policy; ``policy_path`` puts it under an IAM path (a SageMaker
    project's roles: the launch role may create policies only under the stage's path). The permissions boundary is
    applied by the stage to all its roles; it is not repeated here.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        assumed_by: iam.IPrincipal,
        role_path: str,
        description: str,
        max_session: Duration | None = None,
        role_name: str | None = None,
        policy_path: str | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=assumed_by,
            path=role_path,
            role_name=role_name,
            description=description,
            max_session_duration=max_session or Duration.hours(1),
        )
        self.grantee = ManagedPolicyGrantee(
            self, "Permissions", role=self.role, description=description, path=policy_path
        )

    @property
    def policy(self) -> iam.ManagedPolicy:
        return self.grantee.policy

    def allow(self, sid: str, actions: Sequence[str], resources: Sequence[str], conditions: dict | None = None) -> None:
        """Add a statement for permissions no CDK grant covers (SageMaker APIs, logs)."""
        self.grantee.add_to_principal_policy(
            iam.PolicyStatement(sid=sid, actions=list(actions), resources=list(resources), conditions=conditions)
        )

    def deny(self, sid: str, actions: Sequence[str]) -> None:
        """An explicit deny that no later policy attachment can override."""
        self.grantee.add_to_principal_policy(
            iam.PolicyStatement(sid=sid, effect=iam.Effect.DENY, actions=list(actions), resources=["*"])
        )
