"""Full benchmark of the intent model: `mlops run intent --dataset D` on CLINC150 and BANKING77, every goal figure.

    python -m benchmarks.intent_run [--datasets clinc150,banking77] [--out runs/bench-intent] [--config YAML]

Each data set runs in a fresh process with the step cache off. Prints, per data set, the figures of the goals table
of issue #8 (in-scope accuracy, OOS recall / precision, macro F1, int8 size, single-utterance latency int8 vs PyTorch
fp32 on 1 and 2 threads, accuracy lost by quantization, training + export time) next to goal and floor, and writes
them to ``<out>/summary.json``. Figures, not assertions: they depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
MLOPS = [sys.executable, "-m", "pipeline_code.cli"]


def run_dataset(dataset: str, out: Path, config: Path | None) -> float:
    command = [*MLOPS, "run", "intent", "--dataset", dataset, "--out", str(out), "--no-cache"]
    if config is not None:
        command += ["--config", str(config)]
    started = time.perf_counter()
    with (out.parent / f"{dataset}.log").open("w") as log:
        code = subprocess.call(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    if code != 0:
        raise SystemExit(f"mlops run intent --dataset {dataset} failed ({code}); see {out.parent / f'{dataset}.log'}")
    return time.perf_counter() - started


def figures(run_dir: Path, wall: float) -> dict[str, Any]:
    metrics = json.loads((run_dir / "metrics.json").read_text())
    manifest = json.loads((run_dir / "manifest.json").read_text())
    steps = {s["step"]: s["duration_s"] for s in manifest["steps"]}
    by_threads = metrics["latency_ms"]["by_threads"]
    test, fp32 = metrics["test"], metrics["test_fp32"]
    out: dict[str, Any] = {
        "accuracy": test["accuracy"],
        "accuracy_closed_set": test["accuracy_closed_set"],
        "macro_f1": test["macro_f1"],
        "fp32_accuracy": fp32["accuracy"],
        "quantization_drop_points": metrics["quantization_accuracy_drop_points"],
        "quantization_drop_points_closed_set": 100 * (fp32["accuracy_closed_set"] - test["accuracy_closed_set"]),
        "model_mib": metrics["model_bytes"] / 2**20,
        "model_folder_mib": metrics["model_folder_bytes"] / 2**20,
        "oos_rule": metrics["oos_rule"]["rule"],
        "latency": {
            key: {name: {"p50": v["p50"], "p95": v["p95"]} for name, v in value.items() if isinstance(v, dict)}
            | {"int8_over_pytorch_p50": value.get("int8_over_pytorch_p50")}
            for key, value in by_threads.items()
        },
        "train_seconds": steps.get("IntentTrain"),
        "train_plus_export_seconds": sum(steps.get(s, 0.0) for s in ("IntentTrain", "IntentExport", "IntentQuantize")),
        "pipeline_wall_seconds": wall,
        "steps_seconds": steps,
    }
    if "oos_recall" in test:
        out["oos_recall"] = test["oos_recall"]
        out["oos_precision"] = test["oos_precision"]
    return out


def print_table(name: str, f: dict[str, Any]) -> None:
    pct = lambda v: f"{100 * v:.2f}"  # noqa: E731
    print(f"\n== {name} ==")
    if name == "clinc150":
        print(
            f"in-scope accuracy / OOS recall (one threshold): {pct(f['accuracy'])} / {pct(f['oos_recall'])}"
            "   goal >= 96.9 / >= 66   floor 95.5 / 60"
        )
        print(
            f"OOS precision {pct(f['oos_precision'])}, closed-set accuracy {pct(f['accuracy_closed_set'])}, "
            f"rule {f['oos_rule']}"
        )
    else:
        print(f"accuracy (closed set) {pct(f['accuracy_closed_set'])}   goal >= 94.0   floor 93.0")
        print(f"accuracy with the out-of-scope rule (rejections count as errors) {pct(f['accuracy'])}")
    print(f"macro F1 {pct(f['macro_f1'])}")
    print(f"int8 model.onnx {f['model_mib']:.2f} MiB (folder {f['model_folder_mib']:.2f} MiB)   goal <= 22 MiB")
    for key, value in f["latency"].items():
        ratio = value.get("int8_over_pytorch_p50")
        line = ", ".join(
            f"{n} p50 {v['p50']:.2f} / p95 {v['p95']:.2f} ms" for n, v in value.items() if isinstance(v, dict)
        )
        print(f"latency {key}: {line}; int8/PyTorch p50 {ratio:.3f}   goal <= 0.10")
    print(
        f"accuracy lost by quantization {f['quantization_drop_points']:.2f} points "
        f"(closed set {f['quantization_drop_points_closed_set']:.2f})   goal <= 0.3"
    )
    print(
        f"training {f['train_seconds']:.0f} s; training + export + quantization {f['train_plus_export_seconds']:.0f} s"
        f"   goal <= 900 s (CLINC150); whole pipeline {f['pipeline_wall_seconds']:.0f} s"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--datasets", default="clinc150,banking77")
    parser.add_argument("--out", type=Path, default=ROOT / "runs" / "bench-intent")
    parser.add_argument("--config", type=Path, default=None, help="step overrides (default: the pipeline defaults)")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}, python {sys.version.split()[0]}")
    summary: dict[str, Any] = {}
    for dataset in [d.strip() for d in args.datasets.split(",") if d.strip()]:
        run_dir = args.out / dataset
        if run_dir.exists():
            raise SystemExit(f"{run_dir} exists; give another --out")
        wall = run_dataset(dataset, run_dir, args.config)
        summary[dataset] = figures(run_dir, wall)
        print_table(dataset, summary[dataset])
        (args.out / "summary.json").write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n")
    print(f"\nsummary: {args.out / 'summary.json'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
