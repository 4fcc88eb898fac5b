"""Ingest step: the feature table in; records in the Feature Store (or the local offline store) and a report out.

Input ``features`` (the features step's ``features.csv``). Outputs ``ingestion_report/`` (``ingestion_report.json``
with rows in = written + rejected, and ``rejects.csv`` with a reason per rejected row) and ``offline_store/`` (the
local offline store; empty when the step writes to a feature group on SageMaker).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pandas as pd

from pipeline_code.adherence.ingest.offline import write_offline_store
from pipeline_code.adherence.ingest.params import DEFAULTS
from pipeline_code.adherence.ingest.records import (
    EVENT_TIME,
    RECORD_IDENTIFIER,
    feature_definitions,
    normalise_event_time,
    to_records,
)
from pipeline_code.adherence.ingest.store import put_records
from pipeline_code.common.context import PROCESSING, StepContext, StepError, run_in_container
from pipeline_code.common.io import find_single_file, read_csv, write_csv, write_json
from pipeline_code.common.params import read_params

REPORT_FILE = "ingestion_report.json"
REJECTS_FILE = "rejects.csv"
LOCAL_FEATURE_GROUP = "adherence-features"


def _event_time(raw: str, step: str) -> str:
    try:
        return normalise_event_time(raw) if raw else normalise_event_time(datetime.now(UTC).isoformat())
    except ValueError as exc:
        raise StepError(f"{step}: parameter 'event_time'={raw!r} is not an ISO 8601 time ({exc})") from None


def feature_store_client() -> Any:
    import boto3  # only on SageMaker; the local store needs no AWS SDK

    return boto3.client("sagemaker-featurestore-runtime")


def run(ctx: StepContext) -> dict[str, Any]:
    """Convert the feature table to records and write them; the counts always reconcile."""
    return ingest(ctx)


def ingest(ctx: StepContext, *, client: Any = None) -> dict[str, Any]:
    """:func:`run` with an injectable Feature Store runtime client (tests hand in a stubbed one)."""
    params = read_params(ctx, DEFAULTS)
    event_time = _event_time(str(params["event_time"]), ctx.step_name)
    what = f"{ctx.step_name}: input 'features'"
    table = read_csv(find_single_file(ctx.input_dir("features"), what=what), what=what)
    try:
        conversion = to_records(table, event_time=event_time)
    except KeyError as exc:
        raise StepError(f"{what}: {exc.args[0]}") from None
    group = str(params["feature_group_name"])
    store_out = ctx.output_dir("offline_store")
    rejected = list(conversion.rejected)
    retries = 0
    if group:
        result = put_records(
            client or feature_store_client(),
            group,
            conversion.records,
            max_attempts=params["max_attempts"],
            base_delay_s=params["base_delay_s"],
            step=ctx.step_name,
            workers=params["workers"],
        )
        written, retries, destination = result.written, result.retries, f"feature group {group}"
        rejected += result.rejected
    else:
        path = write_offline_store(
            store_out, LOCAL_FEATURE_GROUP, conversion.records, feature_definitions(), event_time=event_time
        )
        written = len(conversion.records)
        destination = str(path.relative_to(store_out)) if path else "nothing to write"
    report = {
        "rows_in": len(table),
        "rows_written": written,
        "rows_rejected": len(rejected),
        "reconciles": len(table) == written + len(rejected),
        "retries": retries,
        "record_identifier": RECORD_IDENTIFIER,
        "event_time_feature": EVENT_TIME,
        "event_time": event_time,
        "destination": destination,
        "rejected_by_reason": _reasons(rejected),
    }
    out = ctx.output_dir("ingestion_report")
    write_json(report, out / REPORT_FILE)
    rejects = pd.DataFrame(
        [{"row": r.row, RECORD_IDENTIFIER: r.record_id, "reason": r.reason} for r in rejected],
        columns=["row", RECORD_IDENTIFIER, "reason"],
    )
    write_csv(rejects, out / REJECTS_FILE)
    if not report["reconciles"]:  # a bug, never data: refuse to pretend the rows were handled
        raise StepError(f"{ctx.step_name}: rows in {len(table)} != written {written} + rejected {len(rejected)}")
    return {"rows_in": len(table), "rows_written": written, "rows_rejected": len(rejected), "retries": retries}


def _reasons(rejected: list[Any]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for item in rejected:
        key = re.sub(r"\d+", "N", item.reason.split(":")[0])
        counts[key] = counts.get(key, 0) + 1
    return dict(sorted(counts.items()))


if __name__ == "__main__":
    run_in_container(PROCESSING, "AdherenceIngest", run)
