"""Ingest step: the Feature Store schema never drifts from the feature table; rows in = written + rejected; the
local offline store is idempotent and laid out like S3's; PutRecord retries throttling (botocore Stubber)."""

from __future__ import annotations

import json
import math
from datetime import datetime

import boto3
import numpy as np
import pandas as pd
import pytest
from botocore.stub import Stubber
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline_code.adherence.ingest.main import LOCAL_FEATURE_GROUP, REJECTS_FILE, REPORT_FILE, ingest
from pipeline_code.adherence.ingest.offline import read_offline_store
from pipeline_code.adherence.ingest.records import (
    EVENT_TIME,
    RECORD_IDENTIFIER,
    FeatureType,
    feature_definitions,
    normalise_event_time,
    to_records,
)
from pipeline_code.adherence.ingest.store import put_records
from pipeline_code.common.adherence_features import build_features
from pipeline_code.common.context import StepError
from tests.adherence.helpers import make_ctx

EVENT = "2026-01-02T03:04:05Z"


@pytest.fixture(scope="module")
def features_table(validated_sample: pd.DataFrame) -> pd.DataFrame:
    return build_features(validated_sample)


def _ctx(tmp_path, table: pd.DataFrame, **params):
    ctx = make_ctx(tmp_path, "AdherenceIngest", event_time=EVENT, **params)
    ctx.input_dir("features").mkdir(parents=True)
    table.to_csv(ctx.input_dir("features") / "features.csv", index=False)
    return ctx


def test_feature_definitions_equal_the_features_output_schema(features_table: pd.DataFrame) -> None:
    """Same names, same order, same types as the table the features step builds; a drift on either side fails."""
    definitions = [d for d in feature_definitions() if d.name != EVENT_TIME]
    assert [d.name for d in definitions] == list(features_table.columns)
    for definition in definitions:
        kind = features_table[definition.name].dtype.kind
        expected = FeatureType.INTEGRAL if kind in "iub" else FeatureType.FRACTIONAL
        assert definition.feature_type is expected, (definition.name, features_table[definition.name].dtype)
    assert feature_definitions()[-1].to_dict() == {"FeatureName": EVENT_TIME, "FeatureType": "String"}
    assert feature_definitions()[0].name == RECORD_IDENTIFIER == "encounter_id"


def test_the_step_writes_every_row_to_the_local_offline_store(tmp_path, features_table: pd.DataFrame) -> None:
    ctx = _ctx(tmp_path, features_table)
    result = ingest(ctx)
    assert result == {"rows_in": len(features_table), "rows_written": len(features_table), "rows_rejected": 0,
                      "retries": 0}  # fmt: skip
    store = ctx.output_dir("offline_store")
    files = list(store.rglob("*.parquet"))
    assert len(files) == 1
    assert files[0].parent.relative_to(store).as_posix() == (
        f"{LOCAL_FEATURE_GROUP}/data/year=2026/month=01/day=02/hour=03"
    )
    stored = read_offline_store(store, LOCAL_FEATURE_GROUP)
    assert len(stored) == len(features_table)
    assert set(stored[EVENT_TIME]) == {EVENT}
    assert list(stored[RECORD_IDENTIFIER]) == list(features_table[RECORD_IDENTIFIER])
    # Values survive the round trip, missing stays missing.
    for name in ("weight", "prev_gap", "num_medications"):
        original = features_table[name].astype("float64").to_numpy()
        back = stored[name].astype("float64").to_numpy()
        assert np.array_equal(np.isnan(original), np.isnan(back))
        assert np.allclose(original[~np.isnan(original)], back[~np.isnan(back)])
    assert {"write_time", "api_invocation_time", "is_deleted"} <= set(stored.columns)


def test_writing_the_same_run_twice_is_idempotent(tmp_path, features_table: pd.DataFrame) -> None:
    ctx = _ctx(tmp_path, features_table.head(50))
    ingest(ctx)
    first = sorted(p.name for p in ctx.output_dir("offline_store").rglob("*.parquet"))
    ingest(ctx)
    assert sorted(p.name for p in ctx.output_dir("offline_store").rglob("*.parquet")) == first


def test_bad_rows_are_rejected_with_a_reason_and_counts_reconcile(tmp_path, features_table: pd.DataFrame) -> None:
    table = features_table.head(20).copy()
    table[RECORD_IDENTIFIER] = table[RECORD_IDENTIFIER].astype("float64")
    table.loc[table.index[3], RECORD_IDENTIFIER] = np.nan
    table.loc[table.index[5], RECORD_IDENTIFIER] = table.loc[table.index[4], RECORD_IDENTIFIER]
    table["race"] = table["race"].astype("float64")
    table.loc[table.index[7], "race"] = 1.5
    ctx = _ctx(tmp_path, table)
    result = ingest(ctx)
    assert result["rows_in"] == 20 == result["rows_written"] + result["rows_rejected"]
    assert result["rows_rejected"] == 3
    report = json.loads((ctx.output_dir("ingestion_report") / REPORT_FILE).read_text())
    assert report["reconciles"] is True
    rejects = pd.read_csv(ctx.output_dir("ingestion_report") / REJECTS_FILE)
    assert list(rejects["row"]) == [3, 5, 7]
    assert "missing" in rejects["reason"][0] and "duplicate" in rejects["reason"][1] and "race" in rejects["reason"][2]


def test_a_missing_schema_column_names_the_column(tmp_path, features_table: pd.DataFrame) -> None:
    ctx = _ctx(tmp_path, features_table.head(5).drop(columns=["prev_gap"]))
    with pytest.raises(StepError, match="prev_gap"):
        ingest(ctx)


def test_an_unreadable_event_time_is_a_clear_error(tmp_path, features_table: pd.DataFrame) -> None:
    ctx = make_ctx(tmp_path, "AdherenceIngest", event_time="yesterday")
    ctx.input_dir("features").mkdir(parents=True)
    features_table.head(2).to_csv(ctx.input_dir("features") / "f.csv", index=False)
    with pytest.raises(StepError, match="event_time"):
        ingest(ctx)


@given(st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(9998, 12, 31), timezones=st.timezones()))
@settings(max_examples=50, deadline=None)
def test_event_times_normalise_to_utc_seconds(moment) -> None:
    text = normalise_event_time(moment.isoformat())
    assert len(text) == 20 and text.endswith("Z")
    assert normalise_event_time(text) == text  # a fixed point


@pytest.mark.parametrize("text", ["", "0999-01-01T00:00:00Z", "2026-13-01T00:00:00Z", "soon"])
def test_unusable_event_times_are_rejected(text) -> None:
    with pytest.raises(ValueError):
        normalise_event_time(text)


@given(st.lists(st.one_of(st.integers(-5, 5), st.none()), min_size=1, max_size=30))
@settings(max_examples=50, deadline=None)
def test_rows_in_equal_records_plus_rejected(ids) -> None:
    """Whatever the ids (missing, duplicated), every row is a record or a rejection, never both or neither."""
    template = {d.name: 1 for d in feature_definitions() if d.name != EVENT_TIME}
    table = pd.DataFrame([{**template, RECORD_IDENTIFIER: math.nan if i is None else i} for i in ids])
    conversion = to_records(table, event_time=EVENT)
    assert len(conversion.records) + len(conversion.rejected) == len(ids)
    assert len({r[RECORD_IDENTIFIER] for r in conversion.records}) == len(conversion.records)


# --- PutRecord against a stubbed Feature Store runtime -----------------------------------------------------------


def _client():
    return boto3.client(
        "sagemaker-featurestore-runtime",
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def test_put_record_retries_throttling_and_rejects_invalid_records(features_table: pd.DataFrame) -> None:
    conversion = to_records(features_table.head(3), event_time=EVENT)
    client = _client()
    sleeps: list[float] = []
    with Stubber(client) as stub:
        stub.add_client_error("put_record", service_error_code="ThrottlingException", http_status_code=400)
        stub.add_response("put_record", {})  # record 0 on the second attempt
        stub.add_client_error("put_record", service_error_code="ValidationError", service_message="bad value")
        stub.add_response("put_record", {})
        result = put_records(client, "mlops-dev-adherence", conversion.records, max_attempts=3, base_delay_s=0.5,
                             sleep=sleeps.append)  # fmt: skip
        stub.assert_no_pending_responses()
    assert (result.written, result.retries, len(result.rejected)) == (2, 1, 1)
    assert sleeps == [0.5]
    assert result.rejected[0].row == 1 and "bad value" in result.rejected[0].reason


def test_put_record_sends_the_feature_group_and_record_shape(features_table: pd.DataFrame) -> None:
    record = to_records(features_table.head(1), event_time=EVENT).records
    client = _client()
    with Stubber(client) as stub:
        expected = [{"FeatureName": k, "ValueAsString": v} for k, v in record[0].items()]
        stub.add_response("put_record", {}, {"FeatureGroupName": "fg", "Record": expected})
        assert put_records(client, "fg", record, max_attempts=1, base_delay_s=0).written == 1


def test_throttling_that_never_ends_fails_the_step_naming_the_record(tmp_path, features_table: pd.DataFrame) -> None:
    ctx = _ctx(tmp_path, features_table.head(2), feature_group_name="fg", max_attempts=2, base_delay_s=0.0)
    client = _client()
    with Stubber(client) as stub:
        for _ in range(2):
            stub.add_client_error("put_record", service_error_code="ThrottlingException", http_status_code=400)
        with pytest.raises(StepError, match="after 2 attempt"):
            ingest(ctx, client=client)


def test_on_sagemaker_the_step_writes_the_feature_group_not_the_local_store(tmp_path, features_table) -> None:
    ctx = _ctx(tmp_path, features_table.head(2), feature_group_name="fg")
    client = _client()
    with Stubber(client) as stub:
        stub.add_response("put_record", {})
        stub.add_response("put_record", {})
        result = ingest(ctx, client=client)
    assert result["rows_written"] == 2
    assert not list(ctx.output_dir("offline_store").rglob("*.parquet"))
    report = json.loads((ctx.output_dir("ingestion_report") / REPORT_FILE).read_text())
    assert report["destination"] == "feature group fg"


class _FlakyClient:
    """Throttles the first call of every third record, refuses record ids ending in 7; thread-safe enough for counts."""

    def __init__(self) -> None:
        import threading

        self.lock = threading.Lock()
        self.calls: dict[str, int] = {}

    def put_record(self, FeatureGroupName: str, Record: list[dict[str, str]]) -> dict:
        from botocore.exceptions import ClientError

        record_id = next(f["ValueAsString"] for f in Record if f["FeatureName"] == RECORD_IDENTIFIER)
        with self.lock:
            self.calls[record_id] = self.calls.get(record_id, 0) + 1
            first = self.calls[record_id] == 1
        if record_id.endswith("7"):
            raise ClientError({"Error": {"Code": "ValidationError", "Message": "no"}}, "PutRecord")
        if first and int(record_id) % 3 == 0:
            raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "slow down"}}, "PutRecord")
        return {}


@pytest.mark.parametrize("workers", [1, 8])
def test_parallel_puts_write_every_record_once_and_reject_in_row_order(features_table, workers) -> None:
    conversion = to_records(features_table.head(120), event_time=EVENT)
    client = _FlakyClient()
    result = put_records(client, "fg", conversion.records, max_attempts=3, base_delay_s=0, sleep=lambda _s: None,
                         workers=workers)  # fmt: skip
    ids = [r[RECORD_IDENTIFIER] for r in conversion.records]
    refused = [i for i in ids if i.endswith("7")]
    assert result.written + len(result.rejected) == len(ids)
    assert [r.record_id for r in result.rejected] == refused
    assert result.retries == sum(1 for i in ids if int(i) % 3 == 0 and not i.endswith("7"))
    assert set(client.calls) == set(ids)
