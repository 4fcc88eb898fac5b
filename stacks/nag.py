"""cdk-nag wiring: the three packs on every stage, one-rule suppressions, and the synth gate.

Aspects do not cross ``cdk.Stage`` boundaries, so ``apply_nag_packs`` is called on each stage. A finding is an
error annotation; ``nag_errors`` collects them from a synthesized assembly so ``app.py`` can fail the synth.
Every suppression goes through ``suppress`` and names one rule family on one resource; cdk-nag writes it into
the resource's template metadata (``Metadata.cdk_nag.rules_to_suppress``), where tests and reviewers count it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from aws_cdk import Aspects, CfnResource, Stack, Stage, cx_api
from cdk_nag import (
    AwsSolutionsChecks,
    HIPAASecurityChecks,
    NagPackSuppression,
    NagSuppressions,
    NIST80053R5Checks,
    RegexAppliesTo,
)
from constructs import IConstruct


@dataclass(frozen=True)
class RuleFamily:
    """One control as the packs name it; a family suppressed on one resource counts as one suppression."""

    name: str
    rule_ids: tuple[str, ...]


S3_REPLICATION = RuleFamily(
    "S3 replication", ("HIPAA.Security-S3BucketReplicationEnabled", "NIST.800.53.R5-S3BucketReplicationEnabled")
)
S3_SSE_KMS = RuleFamily(
    "S3 SSE-KMS", ("HIPAA.Security-S3DefaultEncryptionKMS", "NIST.800.53.R5-S3DefaultEncryptionKMS")
)
IAM_WILDCARDS = RuleFamily("IAM wildcard with evidence", ("AwsSolutions-IAM5",))
LAMBDA_IN_VPC = RuleFamily("Lambda in VPC", ("HIPAA.Security-LambdaInsideVPC", "NIST.800.53.R5-LambdaInsideVPC"))
# Used only on resources CDK Pipelines generates (the Delivery stack and its cross-region support stack).
S3_ACCESS_LOGS = RuleFamily(
    "S3 access logs", ("HIPAA.Security-S3BucketLoggingEnabled", "NIST.800.53.R5-S3BucketLoggingEnabled")
)
S3_ACCESS_LOGS_AWS = RuleFamily("S3 access logs (AwsSolutions)", ("AwsSolutions-S1",))
CODEBUILD_SOURCE_OAUTH = RuleFamily("CodeBuild source OAuth", ("HIPAA.Security-CodeBuildProjectSourceRepoUrl",))


def apply_nag_packs(stage: Stage | Stack) -> None:
    """Run AwsSolutions, HIPAA Security and NIST 800-53 R5 on everything inside ``stage`` (or a stack outside any
    stage, such as the delivery pipeline's; the packs stop at the stages nested in it, which add their own)."""
    for pack in (
        AwsSolutionsChecks(verbose=True),
        HIPAASecurityChecks(verbose=True),
        NIST80053R5Checks(verbose=True),
    ):
        Aspects.of(stage).add(pack)


def suppress(
    construct: IConstruct, family: RuleFamily, reason: str, *, applies_to: Sequence[str | RegexAppliesTo] = ()
) -> None:
    """Suppress one rule family on one resource (the construct's own CfnResource, never its children).

    ``applies_to`` narrows an IAM5 suppression to the listed wildcard findings: any other wildcard still fails.
    """
    resource = construct if isinstance(construct, CfnResource) else construct.node.default_child
    if not isinstance(resource, CfnResource):
        raise TypeError(f"{construct.node.path} has no CloudFormation resource to suppress {family.name} on")
    NagSuppressions.add_resource_suppressions(
        resource,
        [
            NagPackSuppression(id=rule_id, reason=reason, applies_to=list(applies_to) or None)
            for rule_id in family.rule_ids
        ],
        apply_to_children=False,
    )


@dataclass(frozen=True)
class NagFinding:
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message.splitlines()[0]}"


def nag_errors(assembly: cx_api.CloudAssembly) -> list[NagFinding]:
    """Every error annotation in the assembly and its nested stage assemblies (unsuppressed nag findings)."""
    findings: list[NagFinding] = []
    for stack in assembly.stacks_recursively:
        for message in stack.messages:
            if message.level == cx_api.SynthesisMessageLevel.ERROR:
                findings.append(NagFinding(path=message.id, message=str(message.entry.data)))
    return findings


def synth_warnings(assembly: cx_api.CloudAssembly) -> list[NagFinding]:
    """Every warning annotation in the assembly (CDK's own, e.g. an unsettled feature flag); the synth keeps none."""
    return [
        NagFinding(path=message.id, message=str(message.entry.data))
        for stack in assembly.stacks_recursively
        for message in stack.messages
        if message.level == cx_api.SynthesisMessageLevel.WARNING
    ]
