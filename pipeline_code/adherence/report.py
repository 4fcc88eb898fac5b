"""The adherence model's sections of ``report.html``: data and rejects, quality gate and plots, risk factors, and one
per-brand prediction. Reads only the run directory's published artefacts (see ``specs.PUBLISH``)."""

from __future__ import annotations

import csv
import json
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from pipeline_code.dag.report import ReportSection, figures, key_values, paragraph, table, verdict

_REJECT_EXAMPLES = 10
_TOP_FACTORS = 12
_METRICS = ("rows", "positives", "roc_auc", "pr_auc", "threshold", "recall", "precision", "f1", "brier", "ece")


def _json(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def data_section(run_dir: Path) -> ReportSection:
    report = _json(run_dir / "validation_report.json")
    if not report:
        return ReportSection("Data", paragraph("validation_report.json was not produced by this run."))
    source = report.get("source", {})
    summary = {
        "source file": source.get("file"),
        "source sha256": source.get("sha256"),
        "rows in": report.get("rows_in"),
        "rows accepted": report.get("rows_accepted"),
        "rows rejected": report.get("rows_rejected"),
        "reconciled (in = accepted + rejected)": report.get("reconciled"),
        "patients": report.get("patients"),
        "positive rate (readmitted < 30 days)": report.get("positive_rate"),
        "contract": f"{report.get('contract', {}).get('name')} {report.get('contract', {}).get('version')}",
    }
    parts = [key_values(summary)]
    missing = sorted(report.get("missing_by_column", {}).items(), key=lambda kv: -kv[1])
    rows_in = report.get("rows_in") or 1
    parts.append(
        table(("column", "missing", "share"), ((c, n, n / rows_in) for c, n in missing), caption="Missing values")
    )
    by_column = report.get("rejects_by_column", {})
    parts.append(
        table(("column", "rows rejected"), sorted(by_column.items()), caption="Rejects by column")
        if by_column
        else paragraph("No row was rejected.")
    )
    rejects = run_dir / "rejects.csv"
    if rejects.is_file() and report.get("rows_rejected"):
        with rejects.open(newline="", encoding="utf-8") as handle:
            examples = [
                (row.get("encounter_id"), row.get("reject_reason"))
                for _, row in zip(range(_REJECT_EXAMPLES), csv.DictReader(handle), strict=False)
            ]
        parts.append(table(("encounter_id", "reject_reason"), examples, caption="First rejected rows"))
    splits = run_dir / "splits.csv"
    if splits.is_file():
        encounters: Counter[str] = Counter()
        patients: defaultdict[str, set[str]] = defaultdict(set)
        with splits.open(newline="", encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                encounters[row["split"]] += 1
                patients[row["split"]].add(row["patient_nbr"])
        parts.append(
            table(
                ("split", "encounters", "patients"),
                ((name, encounters[name], len(patients[name])) for name in ("train", "validation", "test")),
                caption="Patient-grouped split",
            )
        )
    return ReportSection("Data", "".join(parts))


def quality_section(run_dir: Path) -> ReportSection:
    metrics = _json(run_dir / "metrics.json")
    gate = _json(run_dir / "quality_gate.json") or metrics.get("quality_gate", {})
    parts = [verdict(gate.get("passed"), gate.get("reason", "no quality gate in this run"))]
    rows = [(name, *(metrics.get(split, {}).get(name) for split in ("validation", "test"))) for name in _METRICS]
    parts.append(table(("metric", "validation", "test"), rows, caption="Metrics (threshold chosen on validation)"))
    parts.append(
        figures(
            [
                (run_dir / "roc_curve.png", "ROC curve (test)"),
                (run_dir / "pr_curve.png", "Precision-recall curve (test)"),
                (run_dir / "calibration.png", "Calibration (test)"),
            ]
        )
    )
    return ReportSection("Model quality", "".join(parts))


def _predictions(run_dir: Path) -> list[dict[str, Any]]:
    path = run_dir / "test_predictions.jsonl"
    if not path.is_file():
        return []
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def risk_factor_section(records: list[dict[str, Any]]) -> ReportSection:
    if not records:
        return ReportSection("Risk factors", paragraph("test_predictions.jsonl was not produced by this run."))
    count: Counter[str] = Counter()
    total: defaultdict[str, float] = defaultdict(float)
    labels: dict[str, str] = {}
    for record in records:
        for factor in record.get("risk_factors", []):
            count[factor["feature"]] += 1
            total[factor["feature"]] += float(factor["contribution"])
            labels[factor["feature"]] = factor.get("label", factor["feature"])
    rows = [(labels[name], n, n / len(records), total[name] / n) for name, n in count.most_common(_TOP_FACTORS)]
    return ReportSection(
        "Risk factors",
        paragraph(f"How often each feature is among a test encounter's top-5 SHAP risk factors ({len(records)} rows).")
        + table(("feature", "encounters", "share", "mean contribution (log-odds)"), rows),
    )


def brand_example_section(records: list[dict[str, Any]]) -> ReportSection:
    """The flagged test encounter on the most medications: what the model says per medication ("brand")."""
    flagged = [r for r in records if r.get("predicted_readmission") and r.get("brands")]
    if not flagged:
        return ReportSection("Per-brand prediction (example)", paragraph("No flagged encounter with medications."))
    record = max(flagged, key=lambda r: (len(r["brands"]), r["probability"]))
    summary = {
        "encounter_id": record["encounter_id"],
        "probability of readmission < 30 days": record["probability"],
        "threshold": record["threshold"],
        "confidence": record["confidence"],
        "observed label": record.get("label"),
    }
    brands = [
        (b["medication"], b["status"], b["probability"], b["probability_if_discontinued"], b["delta"])
        for b in record["brands"]
    ]
    factors = [(f["label"], f["value"], f["contribution"]) for f in record.get("risk_factors", [])]
    return ReportSection(
        "Per-brand prediction (example)",
        key_values(summary)
        + table(("medication", "status", "probability", "if discontinued", "delta"), brands, caption="Per medication")
        + table(("risk factor", "value", "contribution"), factors, caption="Top risk factors"),
    )


def bias_section(run_dir: Path) -> ReportSection:
    """Quality per race, gender and age group of the test split (``bias_report.json``) and the largest gaps."""
    report = _json(run_dir / "bias_report.json")
    if not report:
        return ReportSection("Quality by group", paragraph("bias_report.json was not produced by this run."))
    parts = [
        paragraph(
            f"Test split at the threshold {report.get('threshold', 0):.4f}; groups under "
            f"{report.get('min_group_rows')} encounters are shown but left out of the largest gaps."
        )
    ]
    columns = ("rows", "positives", "roc_auc", "positive_rate", "recall", "calibration_gap", "ece", "measured")
    for facet, found in report.get("facets", {}).items():
        groups = found.get("groups", {})
        parts.append(
            table(
                ("group", *columns),
                ((group, *(figures.get(c) for c in columns)) for group, figures in groups.items()),
                caption=facet,
            )
        )
        gaps = found.get("largest_gap", {})
        parts.append(
            table(
                ("metric", "largest gap", "highest", "lowest"),
                (
                    (metric, gap["gap"], gap["highest"], gap["lowest"]) if gap else (metric, None, None, None)
                    for metric, gap in gaps.items()
                ),
                caption=f"{facet}: largest gaps",
            )
        )
    return ReportSection("Quality by group", "".join(parts))


def baseline_section(run_dir: Path) -> ReportSection:
    """What monitoring compares with: the baseline files and the drift thresholds of ``mlops drift``."""
    drift = _json(run_dir / "baseline" / "drift_baseline.json")
    if not drift:
        return ReportSection("Monitoring baseline", paragraph("The baseline step did not run."))
    files = sorted(str(p.relative_to(run_dir)) for p in (run_dir / "baseline").rglob("*.json"))
    parts = [
        key_values(
            {
                "training rows profiled": drift.get("rows"),
                "columns monitored": len(drift.get("columns", [])),
                "prediction profile (validation rows)": (drift.get("prediction") or {}).get("rows"),
                **{f"threshold {k}": v for k, v in drift.get("thresholds", {}).items()},
            }
        ),
        table(("file",), ((f,) for f in files), caption="Baseline files (Model Monitor format and mlops drift)"),
        paragraph(f"Check a batch: mlops drift --baseline {run_dir} --data <raw encounters CSV>"),
    ]
    return ReportSection("Monitoring baseline", "".join(parts))


def sections(run_dir: Path) -> list[ReportSection]:
    records = _predictions(run_dir)
    return [
        data_section(run_dir),
        quality_section(run_dir),
        bias_section(run_dir),
        baseline_section(run_dir),
        risk_factor_section(records),
        brand_example_section(records),
    ]
