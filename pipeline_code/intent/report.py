"""The intent model's sections of ``report.html``: data and rejects per file, the quality gate with int8 against fp32,
the out-of-scope rule chosen on validation, latency, the reliability plot and the most confused intent pairs.
Reads only the run directory's published artefacts (see ``specs.PUBLISH``)."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from pipeline_code.dag.report import ReportSection, figures, key_values, paragraph, table, verdict

_REJECT_EXAMPLES = 10
_METRICS = ("rows", "accuracy", "accuracy_closed_set", "macro_f1", "oos_recall", "oos_precision", "ece")


def _json(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def data_section(run_dir: Path) -> ReportSection:
    report = _json(run_dir / "validation_report.json")
    files = report.get("files", {})
    if not files:
        return ReportSection("Data", paragraph("validation_report.json was not produced by this run."))
    rows = [
        (
            name,
            f.get("file"),
            f.get("rows_in"),
            f.get("rows_accepted"),
            f.get("rows_rejected"),
            f.get("rows_skipped_by_max_rows_per_label", 0),
            f.get("sha256"),
        )
        for name, f in files.items()
    ]
    parts = [
        table(("split", "file", "rows in", "accepted", "rejected", "skipped (quick mode)", "sha256"), rows),
    ]
    rejects = run_dir / "rejects.csv"
    if rejects.is_file():
        with rejects.open(newline="", encoding="utf-8") as handle:
            examples = [
                (row.get("file"), row.get("line"), row.get("text"), row.get("reject_reason"))
                for _, row in zip(range(_REJECT_EXAMPLES), csv.DictReader(handle), strict=False)
            ]
        if examples:
            parts.append(table(("file", "line", "text", "reject_reason"), examples, caption="First rejected rows"))
        else:
            parts.append(paragraph("No row was rejected."))
    return ReportSection("Data", "".join(parts))


def quality_section(run_dir: Path) -> ReportSection:
    metrics = _json(run_dir / "metrics.json")
    gate = _json(run_dir / "quality_gate.json")
    failed = [c["check"] for c in gate.get("checks", []) if not c.get("passed")]
    text = "every check passed" if gate.get("passed") else f"failed: {', '.join(failed) or 'no gate in this run'}"
    parts = [verdict(gate.get("passed") if gate else None, text)]
    if gate.get("checks"):
        checks = [(c["check"], c.get("rule"), c.get("value"), c.get("passed")) for c in gate["checks"]]
        parts.append(table(("check", "rule", "value", "passed"), checks, caption="Quality gate"))
    int8, fp32 = metrics.get("test", {}), metrics.get("test_fp32", {})
    parts.append(
        table(
            ("test metric", "int8 (shipped)", "fp32"),
            ((name, int8.get(name), fp32.get(name)) for name in _METRICS),
            caption="Int8 against fp32 on the test set",
        )
    )
    rule = metrics.get("oos_rule", {})
    if rule:
        compared = [
            (name, values.get("threshold"), values.get("in_scope_accuracy"), values.get("oos_recall"))
            for name, values in rule.get("validation", {}).items()
        ]
        parts.append(
            paragraph(
                f"Out-of-scope rule kept: {rule.get('rule')} at {rule.get('threshold')}, chosen on "
                f"{rule.get('chosen_on')} ({rule.get('criterion')})."
            )
            + table(("rule", "threshold", "in-scope accuracy", "OOS recall"), compared, caption="Rules on validation")
        )
    latency = metrics.get("latency_ms", {})
    if {"int8", "fp32", "pytorch_fp32"} <= latency.keys():
        timings = {
            f"{name} p50 / p95 (ms)": f"{latency[key]['p50']:.3f} / {latency[key]['p95']:.3f}"
            for name, key in (("int8", "int8"), ("ONNX fp32", "fp32"), ("PyTorch fp32", "pytorch_fp32"))
        }
        parts.append(
            key_values(
                {"threads": latency.get("threads"), **timings, "int8 model.onnx (MiB)": metrics["model_bytes"] / 2**20}
            )
        )
    parts.append(figures([(run_dir / "reliability.png", "Reliability (test, int8)")]))
    return ReportSection("Model quality", "".join(parts))


def confusion_section(run_dir: Path) -> ReportSection:
    path = run_dir / "confusion_top.csv"
    if not path.is_file():
        return ReportSection("Most confused intents", paragraph("confusion_top.csv was not produced by this run."))
    with path.open(newline="", encoding="utf-8") as handle:
        rows = [(row["label"], row["predicted"], row["count"]) for row in csv.DictReader(handle)]
    return ReportSection("Most confused intents", table(("label", "predicted as", "test rows"), rows))


def sections(run_dir: Path) -> list[ReportSection]:
    return [data_section(run_dir), quality_section(run_dir), confusion_section(run_dir)]
