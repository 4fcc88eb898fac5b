"""A grant target that collects CDK grants in a customer-managed policy instead of the role's inline policy."""

from __future__ import annotations

import jsii
from aws_cdk import aws_iam as iam
from constructs import Construct


@jsii.implements(iam.IPrincipal)
class ManagedPolicyGrantee(Construct):
    """Stands in for ``role`` in ``bucket.grant_read(...)`` and friends.

    CDK writes grants into a role's inline ``DefaultPolicy``; HIPAA and NIST 800-53 ask for managed policies
    (reusable, versioned, reviewable). Passing this object instead of the role keeps the one-line grants and
    puts every statement into ``self.policy``, a customer-managed policy attached to the role.
    """

    def __init__(
        self, scope: Construct, construct_id: str, *, role: iam.IRole, description: str, path: str | None = None
    ) -> None:
        super().__init__(scope, construct_id)
        self._role = role
        self.policy = iam.ManagedPolicy(self, "Policy", roles=[role], description=description, path=path)

    @property
    def grant_principal(self) -> iam.IPrincipal:
        return self

    @property
    def assume_role_action(self) -> str:
        return self._role.assume_role_action

    @property
    def policy_fragment(self) -> iam.PrincipalPolicyFragment:
        return self._role.policy_fragment

    @property
    def principal_account(self) -> str | None:
        return self._role.principal_account

    def add_to_principal_policy(self, statement: iam.PolicyStatement) -> iam.AddToPrincipalPolicyResult:
        self.policy.add_statements(statement)
        return iam.AddToPrincipalPolicyResult(statement_added=True, policy_dependable=self.policy)

    def add_to_policy(self, statement: iam.PolicyStatement) -> bool:
        return self.add_to_principal_policy(statement).statement_added
