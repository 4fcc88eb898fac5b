"""Run the adherence steps' ``run()`` in sequence on the shipped data and report time, memory and model quality.

Each step runs in a forked child that imports only its own step module, like a container would, so the peak RSS
printed is that step's (``os.wait4`` rusage of the child), and "run" time excludes imports while "wall" includes
them. Step contexts are built by hand under a temporary folder; each step's outputs are copied to the inputs of the
next ones, the way the local executor lays out ``/opt/ml``. Parameters come from config/pipelines/adherence.yaml.

    .venv/bin/python benchmarks/adherence_steps.py [--data PATH] [--keep DIR] [--config PATH]
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import shutil
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipeline_code.common.context import PROCESSING, TRAINING, StepContext  # noqa: E402  (stdlib-only module)

DEFAULT_DATA = ROOT / "data" / "diabetes-130-us-hospitals" / "diabetic_data.csv.gz"
DEFAULT_CONFIG = ROOT / "config" / "pipelines" / "adherence.yaml"

# step type, module, job type, {input logical name: (producing step, its output logical name)}
STEPS: list[tuple[str, str, str, dict[str, tuple[str, str]]]] = [
    ("AdherenceValidate", "validate", PROCESSING, {}),
    ("AdherenceFeatures", "features", PROCESSING, {"validated": ("AdherenceValidate", "validated")}),
    ("AdherenceSplit", "split", PROCESSING, {"features": ("AdherenceFeatures", "features")}),
    (
        "AdherenceTrain",
        "train",
        TRAINING,
        {"train": ("AdherenceSplit", "train"), "validation": ("AdherenceSplit", "validation")},
    ),
    (
        "AdherenceEvaluate",
        "evaluate",
        PROCESSING,
        {
            "model": ("AdherenceTrain", "model"),
            "validation": ("AdherenceSplit", "validation"),
            "test": ("AdherenceSplit", "test"),
        },
    ),
    (
        "AdherencePredict",
        "predict",
        PROCESSING,
        {"model": ("AdherenceTrain", "model"), "test": ("AdherenceSplit", "test")},
    ),
]


def _context(work: Path, step: str, job_type: str, parameters: dict[str, Any]) -> StepContext:
    return StepContext(job_type=job_type, root=work / step, parameters=parameters, step_name=step)


def _run_child(module: str, ctx: StepContext, result_file: Path) -> None:
    """In the forked child: import the step, run it, write its metrics and run time, exit."""
    code = 0
    try:
        run = importlib.import_module(f"pipeline_code.adherence.{module}.main").run
        start = time.perf_counter()
        metrics = run(ctx)
        result_file.write_text(json.dumps({"run_s": time.perf_counter() - start, "metrics": metrics}))
    except BaseException:  # report anything, then leave without running the parent's cleanup
        traceback.print_exc()
        code = 1
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--config", type=Path, default=DEFAULT_CONFIG)
    parser.add_argument("--keep", type=Path, help="work in this folder and keep it (default: a temporary folder)")
    args = parser.parse_args()
    config = yaml.safe_load(args.config.read_text(encoding="utf-8")) or {}
    work = args.keep or Path(tempfile.mkdtemp(prefix="adherence-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    contexts: dict[str, StepContext] = {}
    print(f"data {args.data} ({args.data.stat().st_size / 1e6:.1f} MB), work dir {work}, cpus {os.cpu_count()}")
    print(f"{'step':<20}{'run s':>8}{'wall s':>8}{'peak RSS MiB':>14}  metrics")
    total_run = total_wall = peak = 0.0
    for step, module, job_type, inputs in STEPS:
        ctx = _context(work, step, job_type, dict(config.get(step) or {}))
        contexts[step] = ctx
        if step == "AdherenceValidate":
            raw = ctx.input_dir("raw_data")
            raw.mkdir(parents=True, exist_ok=True)
            shutil.copy2(args.data, raw / args.data.name)
        for name, (producer, output) in inputs.items():
            shutil.copytree(contexts[producer].output_dir(output), ctx.input_dir(name), dirs_exist_ok=True)
        result_file = work / f"{step}.result.json"
        start = time.perf_counter()
        pid = os.fork()
        if pid == 0:
            _run_child(module, ctx, result_file)
        _, status, usage = os.wait4(pid, 0)
        wall = time.perf_counter() - start
        if os.waitstatus_to_exitcode(status) != 0:
            print(f"{step} failed; work dir kept at {work}")
            return 1
        result = json.loads(result_file.read_text())
        rss = usage.ru_maxrss / 1024  # KiB on Linux
        total_run += result["run_s"]
        total_wall += wall
        peak = max(peak, rss)
        print(f"{step:<20}{result['run_s']:>8.2f}{wall:>8.2f}{rss:>14.0f}  {json.dumps(result['metrics'])}")
    print(f"{'total':<20}{total_run:>8.2f}{total_wall:>8.2f}{peak:>14.0f}")
    metrics = json.loads((contexts["AdherenceEvaluate"].output_dir("evaluation") / "metrics.json").read_text())
    threshold, source, best = metrics["threshold"], metrics["threshold_source"], metrics["best_iteration"]
    print(f"threshold {threshold:.4f} ({source}), best iteration {best}")
    for split in ("validation", "test"):
        m = metrics[split]
        print(
            f"{split:<11} rows {m['rows']:>6}  ROC-AUC {m['roc_auc']:.4f}  PR-AUC {m['pr_auc']:.4f}  "
            f"precision {m['precision']:.4f}  recall {m['recall']:.4f}  F1 {m['f1']:.4f}  "
            f"ECE {m['ece']:.4f}  Brier {m['brier']:.4f}  flagged {m['flagged_rate']:.3f}"
        )
    gate = metrics["quality_gate"]
    print(f"quality gate: {'PASS' if gate['passed'] else 'FAIL'} ({gate['reason']})")
    if not args.keep:
        shutil.rmtree(work)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
