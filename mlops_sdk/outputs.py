"""The stack-output contract: which CloudFormation outputs the platform's stacks publish for the SDK, and where
each lands in the platform config.

Convention (stacks added later join by following it, no SDK change needed for the families):

- Output ID (the ``OutputKey`` of ``cdk deploy --outputs-file`` and ``DescribeStacks``): PascalCase, one of
  :data:`OUTPUTS` or of a :data:`FAMILIES` pattern, e.g. ``PlatformKeyArn``, ``AdherencePipelineName``.
  Output IDs are unique within a stage, whatever stack publishes them.
- Export name: ``<resource prefix>:<output ID>``, e.g. ``mlops-dev:PlatformKeyArn``; the prefix
  (``<project>-<stage>``, ``<project>-sbx-<owner>``) makes it unique per account and region, and
  ``mlops config export`` without ``--outputs`` finds every output of a stage with one ``ListExports``.

This module is plain Python (no boto3, no aws_cdk): the stacks import it to name their outputs, the SDK to read them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

EXPORT_SEPARATOR = ":"


@dataclass(frozen=True)
class OutputSpec:
    """One output: its ID, the dotted config path it fills, what it holds, and whether a config needs it."""

    key: str
    config_path: str
    description: str
    required: bool = True


@dataclass(frozen=True)
class OutputFamily:
    """Outputs named ``<Name><suffix>`` (``Name`` PascalCase) that fill ``<config_map>[<name in kebab-case>]``."""

    suffix: str
    config_map: str
    description: str

    def match(self, key: str) -> str | None:
        """The kebab-case name a key of this family carries (``AdherenceTrainingPipelineName`` ->
        ``adherence-training``), or None when the key is not of this family."""
        found = re.fullmatch(rf"([A-Z][A-Za-z0-9]*?){re.escape(self.suffix)}", key)
        return pascal_to_kebab(found.group(1)) if found else None


OUTPUTS: tuple[OutputSpec, ...] = (
    OutputSpec("StageResourcePrefix", "resource_prefix", "Prefix of every physical name of the stage"),
    OutputSpec("StageRegion", "region", "Primary region of the stage"),
    OutputSpec("PlatformKeyArn", "kms.key_arn", "ARN of the stage's KMS key (every data store, job volume, output)"),
    OutputSpec("RawDataBucketName", "s3.raw_bucket", "Bucket of raw data as received"),
    OutputSpec("ProcessedFeaturesBucketName", "s3.features_bucket", "Bucket of validated data and feature tables"),
    OutputSpec("ModelArtifactsBucketName", "s3.models_bucket", "Bucket of trained models and evaluations"),
    OutputSpec("EdgeDeploymentsBucketName", "s3.edge_bucket", "Bucket of edge component artefacts"),
    OutputSpec("PipelineArtifactsBucketName", "s3.artifacts_bucket", "Bucket of pipeline and SDK artefacts"),
    OutputSpec("SageMakerExecutionRoleArn", "iam.execution_role_arn", "Role SageMaker jobs and pipelines run as"),
    OutputSpec("DataScientistRoleArn", "iam.data_scientist_role_arn", "Persona role of data scientists", False),
    OutputSpec("MlEngineerRoleArn", "iam.ml_engineer_role_arn", "Persona role of ML engineers", False),
    # Networking: published by a network stack when the platform runs jobs in a VPC (none yet: jobs run without).
    OutputSpec("VpcId", "network.vpc_id", "VPC the stage's jobs and endpoints run in", False),
    OutputSpec("PrivateSubnetIds", "network.subnet_ids", "Comma-separated private subnets for jobs", False),
    OutputSpec("JobSecurityGroupIds", "network.security_group_ids", "Comma-separated security groups", False),
    OutputSpec("AuditLogGroupName", "audit.log_group", "CloudWatch Logs group of the SDK's audit trail", False),
)
"""Every fixed output a stage may publish; ``required`` ones must be present for ``mlops config export``."""

FAMILIES: tuple[OutputFamily, ...] = (
    OutputFamily("PipelineName", "pipelines", "SageMaker pipeline of a platform model"),
    OutputFamily("EndpointName", "endpoints.names", "Live SageMaker endpoint of a model"),
    OutputFamily("FeatureGroupName", "feature_store.groups", "Feature group built from a data contract"),
)
"""Outputs stacks may add per model, e.g. ``AdherencePipelineName`` -> ``pipelines["adherence"]``."""

LIST_OUTPUTS = frozenset({"network.subnet_ids", "network.security_group_ids"})
"""Config paths whose output value is a comma-separated list (CloudFormation outputs are strings)."""

_BY_KEY = {spec.key: spec for spec in OUTPUTS}


def pascal_to_kebab(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "-", name).lower()


def kebab_to_pascal(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("-"))


def export_name(resource_prefix: str, key: str) -> str:
    """``mlops-dev:PlatformKeyArn``: the export name of output ``key`` of the stage with ``resource_prefix``."""
    return f"{resource_prefix}{EXPORT_SEPARATOR}{key}"


def spec_for(key: str) -> OutputSpec | tuple[OutputFamily, str] | None:
    """The fixed output or (family, name) an output ID stands for; None if it is not part of the contract."""
    if key in _BY_KEY:
        return _BY_KEY[key]
    for family in FAMILIES:
        name = family.match(key)
        if name is not None:
            return family, name
    return None


def description_of(key: str) -> str:
    """Description of a contract output; ValueError naming the key and the convention otherwise."""
    found = spec_for(key)
    if found is None:
        raise ValueError(
            f"output ID {key!r} is not part of the SDK's output contract: use one of "
            f"{', '.join(sorted(_BY_KEY))} or <Name>{{{', '.join(f.suffix for f in FAMILIES)}}}"
        )
    if isinstance(found, OutputSpec):
        return found.description
    family, name = found
    return f"{family.description}: {name}"
