"""Dynamic int8 quantization with ONNX Runtime (weights int8, activations quantized on the fly).

Dynamic quantization needs no calibration data and suits BERT-style encoders on CPU: MatMul / Attention / Gather
weights become int8 (the word-embedding table too, which is half the model), activations stay fp32 between the
integer kernels.
"""

from __future__ import annotations

from pathlib import Path

import onnx
from onnxruntime.quantization import QuantType, quantize_dynamic

VARIANTS = {"tensor": {"per_channel": False}, "channel": {"per_channel": True}}


def quantize(source: Path, target: Path, variant: str) -> Path:
    if variant not in VARIANTS:
        raise ValueError(f"unknown quantization variant {variant!r}; known: {', '.join(VARIANTS)}")
    quantize_dynamic(
        str(source),
        str(target),
        weight_type=QuantType.QInt8,
        per_channel=VARIANTS[variant]["per_channel"],
        reduce_range=False,
        # The fused graph has contrib ops (Attention, BiasGelu) whose outputs ONNX shape inference cannot type.
        extra_options={"MatMulConstBOnly": True, "DefaultTensorType": onnx.TensorProto.FLOAT},
    )
    return target
