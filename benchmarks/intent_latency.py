"""Re-time single-utterance latency of a finished intent run: int8 ONNX, fp32 ONNX and PyTorch fp32, same utterances.

    python -m benchmarks.intent_latency RUN_DIR [--utterances 300] [--threads 1,2]

The evaluate step times latency once, inside the pipeline, whatever the machine's load is then; this re-times the
same three back ends (tokenise + one forward pass, one utterance at a time) on the run's own artefacts, in
interleaved rounds so that a change of load hits all three alike.
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import numpy as np

from pipeline_code.common.context import MODEL_OUTPUT, PROCESSING, TRAINING, StepContext
from pipeline_code.dag.local import step_root
from pipeline_code.intent.evaluate.latency import pytorch_single, time_calls
from pipeline_code.intent.runtime import OnnxIntentModel


def step_output(run_dir: Path, step_type: str, output: str, *, job_type: str = PROCESSING) -> Path:
    """The folder of ``output`` of ``step_type`` in a finished local run (``mlops run``'s layout)."""
    return StepContext(job_type=job_type, root=step_root(run_dir, step_type)).output_path(output)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--utterances", type=int, default=300)
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    import torch

    from pipeline_code.intent.train.checkpoint import load_checkpoint

    checkpoint = step_output(args.run_dir, "IntentTrain", MODEL_OUTPUT, job_type=TRAINING)
    fp32_dir = step_output(args.run_dir, "IntentExport", "onnx_fp32")
    test = step_output(args.run_dir, "IntentValidate", "validated") / "test.csv"
    with test.open(encoding="utf-8") as handle:
        texts = [row["text"] for row in csv.DictReader(handle)][: args.utterances]
    model, _, _ = load_checkpoint(checkpoint)
    for count in [int(t) for t in args.threads.split(",")]:
        torch.set_num_threads(count)
        int8 = OnnxIntentModel(args.run_dir / "model", threads=count)
        fp32 = OnnxIntentModel(fp32_dir, threads=count)
        backends = {
            "int8": int8.run_texts_one,
            "fp32": fp32.run_texts_one,
            "pytorch_fp32": pytorch_single(model, int8.tokenizer),
        }
        p50s: dict[str, list[float]] = {name: [] for name in backends}
        for _ in range(args.rounds):
            for name, fn in backends.items():
                p50s[name].append(time_calls(fn, texts, warmup=20)["p50"])
        medians = {name: float(np.median(v)) for name, v in p50s.items()}
        print(
            f"threads {count}: p50 (median of {args.rounds} rounds x {len(texts)} utterances) "
            + ", ".join(f"{name} {value:.3f} ms" for name, value in medians.items())
            + f"; int8/PyTorch {medians['int8'] / medians['pytorch_fp32']:.3f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
