"""Step parameters: one dict of defaults per step, read through the context with each default's type."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pipeline_code.common.context import StepContext


def read_params(ctx: StepContext, defaults: Mapping[str, Any]) -> dict[str, Any]:
    """Every parameter of ``defaults``, overridden from ``ctx.parameters`` and cast to the default's type.

    SageMaker hands hyperparameters over as strings, so the default's type is the contract: ``"0.05"`` becomes a
    float where the default is a float, ``"true"`` a bool where it is a bool. Names the step does not know are left
    alone (the executor may pass more than one step reads).
    """
    values: dict[str, Any] = {}
    for name, default in defaults.items():
        cast = type(default)
        if cast is int:
            # "42" and 42.0 are fine for an int parameter; 4.5 is not.
            values[name] = ctx.param(name, _as_int, default)
        else:
            values[name] = ctx.param(name, cast, default)
    return values


def _as_int(raw: Any) -> int:
    number = float(raw)
    if not number.is_integer():
        raise ValueError(f"{raw!r} is not a whole number")
    return int(number)
