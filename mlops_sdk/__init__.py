"""The platform SDK: one config from the deployed stacks, defaults with clear precedence, encrypted at rest, audited.

    from mlops_sdk import Session
    session = Session(stage="dev")              # ~/.config/mlops/dev.yaml, written by `mlops config export`
    session.start_pipeline("adherence", {"InputDataUri": "s3://.../diabetic_data.csv.gz"})

Precedence of every parameter: runtime arguments > environment variables (``MLOPS_<SECTION>__<FIELD>``) > the
admin config file > built-in defaults (:mod:`mlops_sdk.resolve`). Client code: imports boto3, never aws_cdk.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mlops_sdk.session import Session

__all__ = ["Session"]


def __getattr__(name: str) -> Any:
    # Lazy: the stacks import mlops_sdk.outputs at synth, which must not pull boto3 in.
    if name == "Session":
        from mlops_sdk.session import Session

        return Session
    raise AttributeError(f"module 'mlops_sdk' has no attribute {name!r}")
