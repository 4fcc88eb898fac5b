"""What the projects' launch role may do, read from the synthesized templates (shared by the projects tests).

The launch role's allows are the stage's permissions boundary (attached as its permissions policy); its own policy
holds only denies, one of them a ``NotAction`` list. IAM allows an action when some Allow of the identity policies
and some Allow of the boundary match it and no Deny does; resources and conditions are tested separately.
"""

from __future__ import annotations

import json
import os
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

import cfnlint

HANDLERS = ("create", "read", "update", "delete")


def _as_list(value: Any) -> list:
    return value if isinstance(value, list) else [value]


def _matches(patterns: list[str], action: str) -> bool:
    return any(fnmatchcase(action.lower(), p.lower()) for p in patterns)


def statement_matches(statement: dict, action: str) -> bool:
    if "NotAction" in statement:
        return not _matches(_as_list(statement["NotAction"]), action)
    return _matches(_as_list(statement["Action"]), action)


def allowed(action: str, identity: list[dict], boundary: list[dict]) -> bool:
    """Upper bound: a Deny scoped to some resources (not ``*``) does not count, an Allow of any resource does."""
    if any(
        s["Effect"] == "Deny" and s["Resource"] == "*" and statement_matches(s, action) for s in identity + boundary
    ):
        return False
    return any(s["Effect"] == "Allow" and statement_matches(s, action) for s in identity) and any(
        s["Effect"] == "Allow" and statement_matches(s, action) for s in boundary
    )


def boundary_statements(guardrails: dict) -> list[dict]:
    (policy,) = [r for r in guardrails["Resources"].values() if r["Type"] == "AWS::IAM::ManagedPolicy"]
    return policy["Properties"]["PolicyDocument"]["Statement"]


def launch_role_statements(guardrails: dict, projects: dict) -> list[dict]:
    """Identity statements of the launch role (Guardrails stack): every managed policy attached to it, the boundary
    (its allows) in the Guardrails stack and the denies in the Projects stack."""
    (role_id,) = [k for k, r in guardrails["Resources"].items() if r["Type"] == "AWS::IAM::Role"]
    role = guardrails["Resources"][role_id]["Properties"]
    assert "ManagedPolicyArns" not in role and "Policies" not in role
    attached = [
        resource
        for resource in guardrails["Resources"].values()
        if resource["Type"] == "AWS::IAM::ManagedPolicy" and {"Ref": role_id} in resource["Properties"].get("Roles", [])
    ]
    attached += [
        resource
        for resource in projects["Resources"].values()
        if resource["Type"] == "AWS::IAM::ManagedPolicy" and "ProjectLaunchRole" in json.dumps(resource["Properties"])
    ]
    assert len(attached) == 2, "the boundary (allows) and the launch denies"
    return [statement for policy in attached for statement in policy["Properties"]["PolicyDocument"]["Statement"]]


def handler_permissions(resource_type: str) -> dict[str, list[str]]:
    """The CloudFormation resource schema's handler permissions (cfn-lint ships the schemas), by handler."""
    schemas = Path(os.path.dirname(cfnlint.__file__)) / "data" / "schemas"
    providers = json.loads((schemas / "providers" / "us-east-1.json").read_text())
    schema = json.loads((schemas / "resources" / f"{providers[resource_type]}.json").read_text())
    return {name: schema["handlers"][name]["permissions"] for name in HANDLERS if name in schema.get("handlers", {})}


def product_templates(outdir: Path, stage_id: str) -> dict[str, dict]:
    return {
        p.name: json.loads(p.read_text()) for p in sorted(outdir.glob(f"assembly-{stage_id}/*.product.template.json"))
    }
