"""Where the int8 intent model's single-utterance time goes: latency against token count, and int8 kernel throughput.

    python -m benchmarks.intent_kernels RUN_DIR [--repeat 200]

Two figures explain the int8 / PyTorch fp32 latency ratio of issue #8 (the goal is 0.10x):

1. **Latency against utterance length** (1 thread, one utterance of n tokens): a least-squares line
   ``fixed + per_token * n`` for the run's int8 model and its fp32 ONNX model (the export step's). A large per-token
   share means the time is the encoder's arithmetic, not session overhead that a runtime setting could remove.
2. **Throughput of ONNX Runtime's dynamic int8 MatMul** on the model's largest weight shape (384 x 1536, the
   feed-forward layer) at utterance-sized row counts, next to PyTorch's own dynamic int8 kernel (fbgemm) on the same
   shape (and both fp32 kernels). When the two int8 kernels agree, the int8 graph already runs at what this CPU's int8
   kernels give.

Figures, not assertions: they depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import time
import warnings
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.intent_latency import step_output
from pipeline_code.intent.runtime import MODEL_FILE, create_session

TOKENS = (4, 8, 12, 16, 24, 32, 48, 64)
ROWS = (1, 11, 32, 96)
HIDDEN, INTERMEDIATE = 384, 1536
CLS, SEP, WORD = 101, 102, 2000


def median_seconds(fn: Callable[[], Any], repeat: int, warmup: int = 20) -> float:
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return float(np.median(samples))


def length_line(model: Path, repeat: int) -> tuple[dict[int, float], float, float]:
    """Median ms per token count, and the fitted ``fixed`` ms and ``per_token`` ms of one utterance."""
    session = create_session(model, 1)
    times: dict[int, float] = {}
    for n in TOKENS:
        ids = np.full((1, n), WORD, dtype=np.int64)
        ids[0, 0], ids[0, -1] = CLS, SEP
        feed = {"input_ids": ids, "attention_mask": np.ones_like(ids)}
        times[n] = 1000.0 * median_seconds(partial(session.run, None, feed), repeat)
    slope, intercept = np.polyfit(np.asarray(list(times)), np.asarray(list(times.values())), 1)
    return times, float(intercept), float(slope)


def matmul_throughput(repeat: int) -> dict[int, dict[str, float]]:
    """GMAC/s per row count: ONNX Runtime dynamic int8 and fp32 MatMul, PyTorch fbgemm dynamic int8 and fp32 Linear."""
    import onnx
    import torch
    from onnx import TensorProto, helper, numpy_helper
    from onnxruntime.quantization import QuantType, quantize_dynamic

    torch.set_num_threads(1)
    rng = np.random.default_rng(13)
    weight = (rng.standard_normal((HIDDEN, INTERMEDIATE)) * 0.05).astype(np.float32)
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["y"])],
        "ffn",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["rows", HIDDEN])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["rows", INTERMEDIATE])],
        [numpy_helper.from_array(weight, "w")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    linear = torch.nn.Linear(HIDDEN, INTERMEDIATE)
    with torch.no_grad():
        linear.weight.copy_(torch.from_numpy(weight.T.copy()))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.ao's notice that eager-mode quantization moves to torchao
        quantized = torch.ao.quantization.quantize_dynamic(torch.nn.Sequential(linear), {torch.nn.Linear}, torch.qint8)
    out: dict[int, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        fp32_path, int8_path = Path(tmp) / "fp32.onnx", Path(tmp) / "int8.onnx"
        onnx.save(model, str(fp32_path))
        logging.getLogger().setLevel(logging.ERROR)  # the quantizer's "run pre-processing first" hint
        quantize_dynamic(str(fp32_path), str(int8_path), weight_type=QuantType.QInt8)
        sessions = {"onnxruntime_int8": create_session(int8_path, 1), "onnxruntime_fp32": create_session(fp32_path, 1)}
        for rows in ROWS:
            x = rng.standard_normal((rows, HIDDEN)).astype(np.float32)
            macs = rows * HIDDEN * INTERMEDIATE / 1e9
            feed = {"x": x}
            figures = {name: macs / median_seconds(partial(s.run, None, feed), repeat) for name, s in sessions.items()}
            tensor = torch.from_numpy(x)
            with torch.inference_mode():
                figures["pytorch_fbgemm_int8"] = macs / median_seconds(partial(quantized, tensor), repeat)
                figures["pytorch_fp32"] = macs / median_seconds(partial(linear, tensor), repeat)
            out[rows] = figures
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run_dir", type=Path, help="a finished `mlops run intent` directory")
    parser.add_argument("--repeat", type=int, default=200)
    args = parser.parse_args(argv)
    models = {
        "int8": args.run_dir / "model" / MODEL_FILE,
        "fp32": step_output(args.run_dir, "IntentExport", "onnx_fp32") / MODEL_FILE,
    }
    for path in models.values():
        if not path.is_file():
            raise SystemExit(f"{path} does not exist: give the directory of a finished `mlops run intent`")
    for name, path in models.items():
        times, fixed, per_token = length_line(path, args.repeat)
        cells = ", ".join(f"{n}: {ms:.2f}" for n, ms in times.items())
        print(f"{name} ONNX, 1 thread, ms by token count: {cells}")
        print(f"{name} ONNX: {fixed:.3f} ms fixed + {per_token:.4f} ms per token (least squares)")
    for rows, figures in matmul_throughput(args.repeat).items():
        cells = ", ".join(f"{name} {value:.0f}" for name, value in figures.items())
        print(f"{HIDDEN}x{INTERMEDIATE} MatMul, {rows} rows, 1 thread, GMAC/s: {cells}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
