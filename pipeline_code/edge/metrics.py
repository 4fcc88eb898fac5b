"""Request metrics aggregated over an interval: count, errors, out-of-scope rate, confidence histogram, latency.

One window is summarised and reset at each flush. Locally the summary is appended to a JSON-lines file; on a device
each value is published to ``cloudwatch/metric/put``, the local topic of the ``aws.greengrass.Cloudwatch`` component,
which batches them into CloudWatch ``PutMetricData`` calls.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

HISTOGRAM_EDGES = tuple(round(0.1 * i, 1) for i in range(11))  # confidence buckets [0, .1), ..., [.9, 1.0]
MAX_LATENCY_SAMPLES = 20_000  # per window; the newest samples are kept
CLOUDWATCH_TOPIC = "cloudwatch/metric/put"
# Names the stage's alarms and dashboard read (stacks/monitoring.py): one definition for both sides.
THING_DIMENSION = "ThingName"
OUT_OF_SCOPE_RATE = "OutOfScopeRate"
MEAN_CONFIDENCE = "MeanConfidence"


class Metrics:
    """Thread-safe accumulator of one window; :meth:`flush` returns its summary and starts the next window."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._reset()

    def _reset(self) -> None:
        self._started = self._clock()
        self._requests = 0
        self._errors = 0
        self._predictions = 0
        self._oos = 0
        self._confidence_sum = 0.0
        self._histogram = [0] * (len(HISTOGRAM_EDGES) - 1)
        self._latencies: deque[float] = deque(maxlen=MAX_LATENCY_SAMPLES)
        self._error_codes: dict[str, int] = {}

    def record_success(self, latency_ms: float, predictions: list[tuple[float, bool]]) -> None:
        """One answered request: its latency and (confidence, out_of_scope) of each of its texts."""
        with self._lock:
            self._requests += 1
            self._latencies.append(float(latency_ms))
            for confidence, out_of_scope in predictions:
                self._predictions += 1
                self._oos += int(out_of_scope)
                self._confidence_sum += float(confidence)
                bucket = min(max(int(confidence * 10), 0), len(self._histogram) - 1)
                self._histogram[bucket] += 1

    def record_error(self, code: str, latency_ms: float) -> None:
        with self._lock:
            self._requests += 1
            self._errors += 1
            self._latencies.append(float(latency_ms))
            self._error_codes[code] = self._error_codes.get(code, 0) + 1

    def snapshot(self, *, reset: bool = False) -> dict[str, Any]:
        with self._lock:
            now = self._clock()
            latencies = np.asarray(self._latencies, dtype=np.float64)
            p50, p95, p99 = (float(np.percentile(latencies, q)) for q in (50, 95, 99)) if len(latencies) else (0.0,) * 3
            summary = {
                "window_start": self._started,
                "window_end": now,
                "requests": self._requests,
                "errors": self._errors,
                "error_codes": dict(sorted(self._error_codes.items())),
                "predictions": self._predictions,
                "out_of_scope_rate": self._oos / self._predictions if self._predictions else 0.0,
                "mean_confidence": self._confidence_sum / self._predictions if self._predictions else None,
                "confidence_histogram": {
                    f"{lo:.1f}-{hi:.1f}": n
                    for lo, hi, n in zip(HISTOGRAM_EDGES[:-1], HISTOGRAM_EDGES[1:], self._histogram, strict=True)
                },
                "latency_ms_p50": p50,
                "latency_ms_p95": p95,
                "latency_ms_p99": p99,
            }
            if reset:
                self._reset()
            return summary

    def flush(self) -> dict[str, Any]:
        return self.snapshot(reset=True)


class FileSink:
    """Appends each window's summary to a JSON-lines file (local mode)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)

    def __call__(self, summary: dict[str, Any]) -> None:
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(summary, sort_keys=True) + "\n")


def cloudwatch_messages(summary: dict[str, Any], *, namespace: str, thing: str) -> list[dict[str, Any]]:
    """The ``aws.greengrass.Cloudwatch`` (v3) requests of one window: one metric datum per message."""
    timestamp = int(summary["window_end"])
    dims = [{"name": THING_DIMENSION, "value": thing}]

    def datum(name: str, value: float, unit: str, extra: list[dict[str, str]] | None = None) -> dict[str, Any]:
        return {
            "request": {
                "namespace": namespace,
                "metricData": {
                    "metricName": name,
                    "dimensions": dims + (extra or []),
                    "timestamp": timestamp,
                    "value": float(value),
                    "unit": unit,
                },
            }
        }

    messages = [
        datum("Requests", summary["requests"], "Count"),
        datum("Errors", summary["errors"], "Count"),
        datum(OUT_OF_SCOPE_RATE, summary["out_of_scope_rate"], "None"),
    ]
    if summary["requests"]:
        for q in ("p50", "p95", "p99"):
            messages.append(datum(f"Latency{q.upper()}", summary[f"latency_ms_{q}"], "Milliseconds"))
    for bucket, count in summary["confidence_histogram"].items():
        messages.append(datum("Confidence", count, "Count", [{"name": "Bucket", "value": bucket}]))
    if summary.get("mean_confidence") is not None:  # a window without predictions has no mean (no datum, no zero)
        messages.append(datum(MEAN_CONFIDENCE, summary["mean_confidence"], "None"))
    return messages


class Flusher:
    """Every ``interval_s``: publish the window's summary to each sink, then run ``on_tick`` (model reload check)."""

    def __init__(
        self,
        metrics: Metrics,
        sinks: list[Callable[[dict[str, Any]], None]],
        interval_s: float,
        *,
        on_tick: Callable[[], None] | None = None,
        log: Callable[[str], None] = lambda _m: None,
    ) -> None:
        self.metrics, self.sinks, self.interval_s = metrics, sinks, interval_s
        self.on_tick, self.log = on_tick, log
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="edge-metrics", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def tick(self) -> None:
        summary = self.metrics.flush()
        for sink in self.sinks:
            try:
                sink(summary)
            except Exception as exc:  # a full disk or a broken IPC stream must not stop serving
                self.log(f"metrics sink failed: {type(exc).__name__}: {exc}")
        if self.on_tick is not None:
            try:
                self.on_tick()
            except Exception as exc:
                self.log(f"periodic task failed: {type(exc).__name__}: {exc}")

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.tick()

    def stop(self) -> None:
        """Stop the loop and flush the last (partial) window."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        self.tick()
