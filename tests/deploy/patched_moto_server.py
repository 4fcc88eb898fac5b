"""``moto_server`` with four fixes to moto 5.2.5's CloudFormation, for the deploy smoke test.

Run it like the ``moto_server`` entry point (``python tests/deploy/patched_moto_server.py -p PORT``): it installs
the fixes below and then calls ``moto.server.main``, the function behind that entry point. Without them the
platform's stacks can be neither deployed nor destroyed on moto, or a destroy leaves moto in a state AWS never
would:

1. ``AWS::KMS::Key`` ``Tags`` reach ``KmsBackend.create_key`` in CloudFormation's shape (``Key``/``Value``) where
   the KMS tagger expects ``TagKey``/``TagValue``: creating any tagged key (every platform key carries the cost
   tags) fails with ``KeyError: 'TagKey'`` and so does the stack.
2. ``AWS::KMS::Key`` ``KeyPolicy`` reaches it as a JSON object and is stored as one; KMS keeps a JSON string, so
   every later ``DescribeKey`` of the key fails with HTTP 500 (``TypeError: the JSON object must be str``).
3. ``AWS::IAM::ManagedPolicy`` has no delete handler: deleting the stack leaves the policy attached to its role,
   whose deletion then fails (``DeleteConflict: must detach all policies first``), so the stack cannot be
   destroyed. CloudFormation detaches a managed policy from its roles, users and groups, then deletes it.
4. ``DescribeStacks`` of a deleted stack (the CLI polls it by stack ID until ``DELETE_COMPLETE``) renders its
   ``Outputs``, and rendering an output re-creates the deleted resource it references: after ``cdk destroy`` the
   Guardrails permissions boundary is back, and a bucket or key that lost its ``RETAIN`` would reappear (empty,
   under a new ID) and look retained. A deleted stack keeps no outputs here.

Fixes 1 and 2 normalise ``create_key``'s arguments to the API's shape and leave arguments already in that shape
alone (a no-op for KMS API calls and for a moto release that fixes the translation); fix 3 is installed only
while moto has no delete handler of its own. Nothing else changes: what moto does not implement stays
unimplemented, and the smoke test reports those checks as skipped.
"""

from __future__ import annotations

import functools
import inspect
import json
import sys
from typing import Any

from moto.cloudformation.models import Stack
from moto.cloudformation.parsing import OutputMap
from moto.iam.models import Group, ManagedPolicy, Role, User, iam_backends
from moto.kms.models import KmsBackend
from moto.server import main
from moto.utilities.utils import get_partition

_create_key = KmsBackend.create_key
_create_key_signature = inspect.signature(_create_key)
_delete_stack = Stack.delete


def _api_tags(tags: Any) -> Any:
    if not isinstance(tags, list):
        return tags
    return [
        {"TagKey": t["Key"], "TagValue": t["Value"]} if isinstance(t, dict) and "Key" in t and "TagKey" not in t else t
        for t in tags
    ]


@functools.wraps(_create_key)
def _create_key_accepting_template_shapes(*args: Any, **kwargs: Any) -> Any:
    bound = _create_key_signature.bind(*args, **kwargs)
    if isinstance(bound.arguments.get("policy"), dict):
        bound.arguments["policy"] = json.dumps(bound.arguments["policy"])
    if "tags" in bound.arguments:
        bound.arguments["tags"] = _api_tags(bound.arguments["tags"])
    return _create_key(*bound.args, **bound.kwargs)


def _delete_managed_policy(
    cls: type[ManagedPolicy], resource_name: str, cloudformation_json: Any, account_id: str, region_name: str
) -> None:
    """What CloudFormation does when it deletes an AWS::IAM::ManagedPolicy (``resource_name`` is its ARN)."""
    backend = iam_backends[account_id][get_partition(region_name)]
    policy = backend.managed_policies.get(resource_name)
    if policy is None:
        return
    entities: list[Role | User | Group] = [*backend.roles.values(), *backend.users.values(), *backend.groups.values()]
    for entity in entities:
        if policy.arn in entity.managed_policies:
            policy.detach_from(entity)
    backend.delete_policy(policy.arn)


@functools.wraps(_delete_stack)
def _delete_stack_and_its_outputs(self: Stack) -> None:
    _delete_stack(self)
    self.output_map = OutputMap(self.resource_map, {}, self.stack_id)


def install() -> None:
    KmsBackend.create_key = _create_key_accepting_template_shapes  # type: ignore[method-assign]
    if getattr(ManagedPolicy.delete_from_cloudformation_json, "__isabstractmethod__", False):
        ManagedPolicy.delete_from_cloudformation_json = classmethod(_delete_managed_policy)  # type: ignore[assignment]
    Stack.delete = _delete_stack_and_its_outputs  # type: ignore[method-assign]


if __name__ == "__main__":
    install()
    main(sys.argv[1:])
