"""CloudFormation outputs the platform SDK reads (``mlops config export``), named by one convention.

Output ID = the contract key (``PlatformKeyArn``, ``<Name>PipelineName`` ...), export name =
``<resource prefix>:<key>``; the contract itself is :mod:`mlops_sdk.outputs`. A stack publishes an output with
:func:`sdk_output`, which refuses keys outside the contract, so a typo fails at synth rather than in a notebook.
"""

from __future__ import annotations

from aws_cdk import CfnOutput, Stack

from mlops_sdk.outputs import description_of, export_name
from stacks.settings import StageSettings


def sdk_output(stack: Stack, *, settings: StageSettings, key: str, value: str) -> CfnOutput:
    """Publish ``value`` as output ``key`` of ``stack`` (at the stack's top level, so the output ID is ``key``)."""
    return CfnOutput(
        stack,
        key,
        value=value,
        description=description_of(key),
        export_name=export_name(settings.resource_prefix, key),
    )
