"""Single-utterance latency: tokenise + run one utterance at a time, as an interactive device would."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np


def time_calls(fn: Callable[[str], Any], texts: Sequence[str], *, warmup: int) -> dict[str, float]:
    """p50 / p95 / mean milliseconds of ``fn(text)`` over ``texts`` after ``warmup`` untimed calls."""
    for text in texts[:warmup]:
        fn(text)
    samples = []
    for text in texts:
        start = time.perf_counter()
        fn(text)
        samples.append((time.perf_counter() - start) * 1000.0)
    values = np.asarray(samples)
    return {
        "p50": float(np.percentile(values, 50)),
        "p95": float(np.percentile(values, 95)),
        "mean": float(values.mean()),
        "n": len(samples),
    }


def pytorch_single(model: Any, tokenizer: Any) -> Callable[[str], Any]:
    """PyTorch fp32 reference: the same tokenizer, one utterance per forward pass, no gradient."""
    import torch

    def call(text: str) -> Any:
        ids = tokenizer.encode(text).ids
        tensor = torch.tensor([ids], dtype=torch.int64)
        with torch.inference_mode():
            return model(tensor, torch.ones_like(tensor))

    return call
