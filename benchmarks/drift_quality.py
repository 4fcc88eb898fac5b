"""Measured quality of the drift check (``mlops drift``): false alarms, detection, and the batch size both need.

    python -m benchmarks.drift_quality [--run RUN_DIR] [--batches 400] [--json OUT]

From a run of ``mlops run adherence`` (one is made in a temporary folder when ``--run`` is not given) it takes the
run's drift baseline (training split), model and held-out (test) split. Each batch is drawn with replacement from
the held-out split, as is or after one of the four synthetic shifts of :mod:`benchmarks.drift_shifts`, scored by the
model and checked with the baseline's thresholds by the same encode / evaluate code the command runs.

- false-alarm rate: share of unshifted batches reported as drift (goal <= 1 %, floor <= 5 %);
- detection rate: share of shifted batches reported as drift, per shift (goal >= 99 %, floor >= 95 %);
- the smallest batch size at which both goals hold.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.drift_shifts import SHIFTS, held_out_rows, shifted
from pipeline_code.adherence import drift as adapter
from pipeline_code.common.drift.baseline import Thresholds
from pipeline_code.common.drift.check import Encoded, encode, evaluate

ROOT = Path(__file__).resolve().parents[1]
BATCH_SIZES = (100, 200, 300, 500, 1000, 2000)
FALSE_ALARM_GOAL, FALSE_ALARM_FLOOR = 0.01, 0.05
DETECTION_GOAL, DETECTION_FLOOR = 0.99, 0.95
NONE = "none"


def encoded_scenarios(run_dir: Path, baseline: dict[str, Any]) -> dict[str, Encoded]:
    """The held-out split, unshifted and under each shift, scored and encoded once."""
    rows = held_out_rows(run_dir)
    out = {}
    for name in (NONE, *SHIFTS):
        frame = rows.copy() if name == NONE else shifted(rows, name, seed=1)
        probabilities = adapter.score(run_dir / "model", frame)
        out[name] = encode(baseline, frame, adapter.COLUMNS, probabilities=probabilities)
    return out


def alarm_rates(
    baseline: dict[str, Any],
    scenarios: dict[str, Encoded],
    thresholds: Thresholds,
    *,
    sizes: tuple[int, ...],
    batches: int,
    seed: int = 0,
) -> dict[int, dict[str, float]]:
    """Per batch size, the share of batches reported as drift in each scenario."""
    rng = np.random.default_rng(seed)
    rates: dict[int, dict[str, float]] = {}
    for size in sizes:
        rates[size] = {}
        for name, encoded in scenarios.items():
            count = batches if name == NONE else max(batches // 2, 100)
            alarms = 0
            for _ in range(count):
                rows = rng.integers(0, encoded.rows, size=size)
                alarms += evaluate(baseline, encoded.take(rows), thresholds)["drift"]
            rates[size][name] = alarms / count
    return rates


def smallest_batch(rates: dict[int, dict[str, float]], *, false_alarm: float, detection: float) -> int | None:
    for size in sorted(rates):
        found = rates[size]
        if found[NONE] <= false_alarm and all(found[s] >= detection for s in SHIFTS):
            return size
    return None


def _run_pipeline(out: Path) -> None:
    command = [sys.executable, "-m", "pipeline_code.cli", "run", "adherence", "--out", str(out), "--no-cache"]
    subprocess.run(command, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", type=Path, help="run directory of `mlops run adherence` (default: a fresh run)")
    parser.add_argument("--batches", type=int, default=400, help="unshifted batches per size (shifted: half)")
    parser.add_argument("--sizes", type=int, nargs="+", default=list(BATCH_SIZES))
    parser.add_argument("--threshold", action="append", default=[], help="override, e.g. psi=0.2 (repeatable)")
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        run_dir = args.run
        if run_dir is None:
            run_dir = Path(tmp) / "run"
            print("no --run given: running `mlops run adherence` (about a minute) ...", flush=True)
            _run_pipeline(run_dir)
        baseline = json.loads((run_dir / "baseline" / "drift_baseline.json").read_text(encoding="utf-8"))
        overrides = dict(item.split("=", 1) for item in args.threshold)
        thresholds = Thresholds.from_mapping({**baseline["thresholds"], **overrides}, where="--threshold")
        started = time.perf_counter()
        scenarios = encoded_scenarios(run_dir, baseline)
        rates = alarm_rates(baseline, scenarios, thresholds, sizes=tuple(args.sizes), batches=args.batches)
        seconds = time.perf_counter() - started
    goal = smallest_batch(rates, false_alarm=FALSE_ALARM_GOAL, detection=DETECTION_GOAL)
    floor = smallest_batch(rates, false_alarm=FALSE_ALARM_FLOOR, detection=DETECTION_FLOOR)
    print(f"thresholds: {thresholds.as_dict()}")
    print(f"held-out rows: {scenarios[NONE].rows}; unshifted batches per size: {args.batches}, shifted: "
          f"{max(args.batches // 2, 100)}")  # fmt: skip
    header = f"{'batch':>6} {'false alarms':>13} " + " ".join(f"{s:>11}" for s in SHIFTS)
    print(header)
    for size, found in rates.items():
        print(f"{size:>6} {found[NONE]:>13.2%} " + " ".join(f"{found[s]:>11.1%}" for s in SHIFTS))
    print(f"smallest batch meeting the goals (false alarms <= 1 %, detection >= 99 %): {goal}")
    print(f"smallest batch meeting the floors (false alarms <= 5 %, detection >= 95 %): {floor}")
    print(f"({seconds:.1f} s)")
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "thresholds": thresholds.as_dict(),
                    "rates": {str(k): v for k, v in rates.items()},
                    "smallest_batch_goal": goal,
                    "smallest_batch_floor": floor,
                },
                indent=2,
            )
            + "\n",
            encoding="utf-8",
        )


if __name__ == "__main__":
    main()
