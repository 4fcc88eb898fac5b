"""End-to-end benchmark of the adherence pipeline as a user runs it: `mlops run adherence` on the shipped data.

    python -m benchmarks.adherence_run [--data PATH] [--repeat N]

Runs the CLI in a fresh process with caching off (cold), then once more with a warm cache, and prints wall time,
peak memory of the pipeline process, per-step times from the run manifest, and the model's test metrics. Figures,
not assertions: timing depends on the machine and its load (the README quotes a 2-core run).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MLOPS = [sys.executable, "-m", "pipeline_code.cli"]


def run_once(out: Path, *, data: Path | None, cache_dir: Path | None) -> tuple[float, float]:
    """Run the pipeline into ``out``; return (wall seconds, peak RSS MiB of the child)."""
    command = [*MLOPS, "run", "adherence", "--out", str(out)]
    command += ["--cache-dir", str(cache_dir)] if cache_dir else ["--no-cache"]
    if data is not None:
        command += ["--data", str(data)]
    started = time.perf_counter()
    with tempfile.TemporaryFile("w+") as log:
        child = subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, text=True)
        # wait4 gives this child's own peak RSS; RUSAGE_CHILDREN would be the maximum over every child so far.
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - started
        child.returncode = os.waitstatus_to_exitcode(status)
        if child.returncode != 0:
            log.seek(0)
            raise SystemExit(f"mlops run failed ({child.returncode}):\n{log.read()[-6000:]}")
    peak_kib = usage.ru_maxrss
    return wall, peak_kib / 1024


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=None, help="CSV/CSV.gz (default: the shipped data)")
    parser.add_argument("--repeat", type=int, default=1, help="cold runs to time")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="adherence-bench-") as tmp:
        work = Path(tmp)
        colds = []
        for i in range(args.repeat):
            colds.append(run_once(work / f"cold-{i}", data=args.data, cache_dir=None))
        cache = work / "cache"
        run_once(work / "fill", data=args.data, cache_dir=cache)
        warm_wall, _ = run_once(work / "warm", data=args.data, cache_dir=cache)

        run_dir = work / "cold-0"
        manifest = json.loads((run_dir / "manifest.json").read_text())
        metrics = json.loads((run_dir / "metrics.json").read_text())
        report = json.loads((run_dir / "validation_report.json").read_text())

    print(f"machine: {os.cpu_count()} CPUs, python {sys.version.split()[0]}")
    rows = {key: report.get(key) for key in ("rows_in", "rows_accepted", "rows_rejected")}
    print("rows: " + ", ".join(f"{key}={value}" for key, value in rows.items()))
    for i, (wall, peak) in enumerate(colds):
        print(f"cold run {i}: wall {wall:.1f} s (process start + imports + 6 steps), peak RSS {peak:.0f} MiB")
    print(f"warm run (all steps cached): wall {warm_wall:.1f} s")
    print("per step (cold run 0, from manifest.json):")
    for step in manifest["steps"]:
        print(f"  {step['step']:<20} {step['duration_s']:>6.1f} s")
    test, validation = metrics["test"], metrics["validation"]
    print(
        f"validation ROC-AUC {validation['roc_auc']:.4f} PR-AUC {validation['pr_auc']:.4f} | "
        f"test ROC-AUC {test['roc_auc']:.4f} PR-AUC {test['pr_auc']:.4f} | threshold {metrics['threshold']:.4f}: "
        f"recall {test['recall']:.3f} precision {test['precision']:.3f} | "
        f"ECE {test['ece']:.4f} Brier {test['brier']:.4f}"
    )
    print(f"quality gate: {metrics['quality_gate']['reason']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
