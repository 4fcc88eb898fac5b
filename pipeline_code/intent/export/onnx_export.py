"""PyTorch classifier -> ONNX (opset 17, dynamic batch and sequence axes), then ONNX Runtime's BERT fusions.

The TorchScript exporter is used (``dynamo=False``): it needs no extra package and gives a plain graph that
``onnxruntime.transformers.optimizer`` fuses into Attention / SkipLayerNormalization / BiasGelu nodes, which the
dynamic int8 quantizer then turns into integer kernels (QAttention, MatMulInteger).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import torch

from pipeline_code.intent.train.model import IntentClassifier

OPSET = 17
INPUTS = ("input_ids", "attention_mask")
OUTPUTS = ("logits", "embedding")


def export_onnx(model: IntentClassifier, path: Path, *, opset: int = OPSET) -> Path:
    model.eval()
    ids = torch.tensor([[101, 7592, 2088, 102], [101, 2054, 102, 0]], dtype=torch.int64)
    mask = (ids != 0).to(torch.int64)
    axes = {"input_ids": {0: "batch", 1: "tokens"}, "attention_mask": {0: "batch", 1: "tokens"}}
    axes.update({"logits": {0: "batch"}, "embedding": {0: "batch"}})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer warnings about python-side shape logic of transformers
        torch.onnx.export(
            model,
            (ids, mask),
            str(path),
            input_names=list(INPUTS),
            output_names=list(OUTPUTS),
            dynamic_axes=axes,
            opset_version=opset,
            do_constant_folding=True,
            dynamo=False,
        )
    return path


def fuse_bert(source: Path, target: Path, *, num_heads: int, hidden_size: int) -> Path:
    """ONNX Runtime's transformer fusions (offline, CPU, fp32): same outputs, fewer and faster nodes."""
    from onnxruntime.transformers.optimizer import optimize_model

    optimized = optimize_model(
        str(source), model_type="bert", num_heads=num_heads, hidden_size=hidden_size, opt_level=1, use_gpu=False
    )
    optimized.save_model_to_file(str(target))
    return target
