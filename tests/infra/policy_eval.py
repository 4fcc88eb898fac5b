"""A small, action-level IAM evaluator over synthesized templates.

It answers "may this role ever perform this action?" the way IAM combines a role's identity policies with its
permissions boundary: an explicit Deny wins, then an Allow is needed in both. Resources and conditions are not
evaluated (tests assert those separately); that makes the answer an upper bound, which is what a "cannot"
assertion needs.
"""

from __future__ import annotations

from fnmatch import fnmatchcase
from typing import Any


def _as_list(value: Any) -> list:
    return value if isinstance(value, list) else [value]


def _matches(patterns: list[str], action: str) -> bool:
    return any(fnmatchcase(action.lower(), p.lower()) for p in patterns)


def role_statements(template: dict, role_logical_id: str) -> list[dict]:
    """Statements of every managed or inline policy attached to the role inside its own template."""
    statements: list[dict] = []
    for resource in template["Resources"].values():
        if resource["Type"] not in ("AWS::IAM::ManagedPolicy", "AWS::IAM::Policy"):
            continue
        roles = resource["Properties"].get("Roles", [])
        if {"Ref": role_logical_id} in roles:
            statements.extend(resource["Properties"]["PolicyDocument"]["Statement"])
    role = template["Resources"][role_logical_id]["Properties"]
    for inline in role.get("Policies", []):
        statements.extend(inline["PolicyDocument"]["Statement"])
    return statements


def decision(action: str, identity: list[dict], boundary: list[dict]) -> str:
    """'explicit-deny', 'allow' or 'implicit-deny' for ``action``."""
    if any(s["Effect"] == "Deny" and _matches(_as_list(s["Action"]), action) for s in identity + boundary):
        return "explicit-deny"
    allowed = any(s["Effect"] == "Allow" and _matches(_as_list(s.get("Action", [])), action) for s in identity)
    bounded = any(s["Effect"] == "Allow" and _matches(_as_list(s.get("Action", [])), action) for s in boundary)
    return "allow" if allowed and bounded else "implicit-deny"
