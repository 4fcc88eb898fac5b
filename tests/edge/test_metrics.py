"""Metrics windows: counts, out-of-scope rate, histogram, percentiles, file sink and CloudWatch component messages."""

from __future__ import annotations

import json
from pathlib import Path

from pipeline_code.edge.metrics import FileSink, Flusher, Metrics, cloudwatch_messages


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def test_a_window_summarises_and_resets() -> None:
    clock = Clock()
    metrics = Metrics(clock)
    for latency in range(1, 101):
        metrics.record_success(float(latency), [(0.95, False)])
    metrics.record_success(5.0, [(0.05, True), (0.55, True)])
    metrics.record_error("empty_text", 1.0)
    clock.now = 1_060.0
    summary = metrics.flush()
    assert summary["requests"] == 102 and summary["errors"] == 1 and summary["predictions"] == 102
    assert summary["out_of_scope_rate"] == 2 / 102
    assert summary["confidence_histogram"]["0.9-1.0"] == 100
    assert summary["confidence_histogram"]["0.0-0.1"] == summary["confidence_histogram"]["0.5-0.6"] == 1
    assert 49 <= summary["latency_ms_p50"] <= 51 and 94 <= summary["latency_ms_p95"] <= 96
    assert summary["error_codes"] == {"empty_text": 1}
    assert (summary["window_start"], summary["window_end"]) == (1_000.0, 1_060.0)
    empty = metrics.flush()
    assert empty["requests"] == 0 and empty["latency_ms_p95"] == 0.0 and empty["window_start"] == 1_060.0


def test_confidence_one_falls_in_the_top_bucket() -> None:
    metrics = Metrics()
    metrics.record_success(1.0, [(1.0, False), (0.0, False)])
    histogram = metrics.flush()["confidence_histogram"]
    assert histogram["0.9-1.0"] == 1 and histogram["0.0-0.1"] == 1 and len(histogram) == 10


def test_cloudwatch_messages_follow_the_component_format() -> None:
    metrics = Metrics(Clock())
    metrics.record_success(3.0, [(0.8, False)])
    messages = cloudwatch_messages(metrics.flush(), namespace="MlopsEdge/Intent", thing="dev-device-1")
    names = [m["request"]["metricData"]["metricName"] for m in messages]
    assert names[:6] == ["Requests", "Errors", "OutOfScopeRate", "LatencyP50", "LatencyP95", "LatencyP99"]
    assert names.count("Confidence") == 10
    assert names[-1] == "MeanConfidence" and messages[-1]["request"]["metricData"]["value"] == 0.8
    idle = cloudwatch_messages(Metrics(Clock()).flush(), namespace="MlopsEdge/Intent", thing="dev-device-1")
    assert "MeanConfidence" not in [m["request"]["metricData"]["metricName"] for m in idle]
    for message in messages:
        request = message["request"]
        assert set(request) == {"namespace", "metricData"} and request["namespace"] == "MlopsEdge/Intent"
        datum = request["metricData"]
        assert set(datum) == {"metricName", "dimensions", "timestamp", "value", "unit"}
        assert datum["dimensions"][0] == {"name": "ThingName", "value": "dev-device-1"}
        assert isinstance(datum["value"], float) and isinstance(datum["timestamp"], int)
        json.dumps(message)


def test_the_flusher_writes_each_window_and_survives_a_failing_sink(tmp_path: Path) -> None:
    metrics = Metrics()
    logged: list[str] = []
    ticks: list[int] = []

    def broken(_summary: dict) -> None:
        raise OSError("disk full")

    flusher = Flusher(
        metrics, [broken, FileSink(tmp_path / "m.jsonl")], 3600, on_tick=lambda: ticks.append(1), log=logged.append
    )
    metrics.record_success(2.0, [(0.7, False)])
    flusher.tick()
    metrics.record_error("invalid_json", 0.1)
    flusher.start()
    flusher.stop()  # flushes the last window
    lines = [json.loads(line) for line in (tmp_path / "m.jsonl").read_text().splitlines()]
    assert [line["requests"] for line in lines] == [1, 1] and lines[1]["errors"] == 1
    assert len(ticks) == 2 and logged == ["metrics sink failed: OSError: disk full"] * 2
