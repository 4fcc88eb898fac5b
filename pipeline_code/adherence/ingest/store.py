"""Writing records to a SageMaker feature group with PutRecord: retries on throttling, rejects on bad records.

PutRecord is idempotent for the same record id and event time (the online store keeps one record, the offline store
deduplicates on read by ``write_time``), so a retried call or a re-run of the step after a failure writes nothing new.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from pipeline_code.adherence.ingest.records import RECORD_IDENTIFIER, Rejected, as_put_record
from pipeline_code.common.context import StepError

# Retried with back-off: the service is busy or briefly failing, the record itself is fine.
RETRYABLE_CODES = frozenset(
    {
        "ThrottlingException",
        "Throttling",
        "ServiceUnavailable",
        "InternalFailure",
        "RequestLimitExceeded",
        "TooManyRequestsException",
    }
)
# The record is wrong (a value of the wrong type, an unknown feature): rejected with the service's message.
RECORD_ERROR_CODES = frozenset({"ValidationError", "ValidationException"})


@dataclass
class PutResult:
    written: int = 0
    retries: int = 0
    rejected: list[Rejected] = field(default_factory=list)


def _error_code(exc: Exception) -> str:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code", ""))
    return ""


def _put_one(
    client: Any,
    feature_group: str,
    position: int,
    record: dict[str, Any],
    *,
    max_attempts: int,
    base_delay_s: float,
    sleep: Callable[[float], None],
    step: str,
) -> tuple[int, Rejected | None]:
    """PutRecord one record: (retries used, the rejection if the service refused the record)."""
    payload = as_put_record(record)
    for attempt in range(1, max_attempts + 1):
        try:
            client.put_record(FeatureGroupName=feature_group, Record=payload)
            return attempt - 1, None
        except Exception as exc:  # botocore ClientError; other exceptions are not retried
            code = _error_code(exc)
            if code in RECORD_ERROR_CODES:
                return attempt - 1, Rejected(position, str(record.get(RECORD_IDENTIFIER)), f"{code}: {exc}")
            if code in RETRYABLE_CODES and attempt < max_attempts:
                sleep(base_delay_s * 2 ** (attempt - 1))
                continue
            raise StepError(
                f"{step}: PutRecord to feature group {feature_group!r} failed for {RECORD_IDENTIFIER} "
                f"{record.get(RECORD_IDENTIFIER)} after {attempt} attempt(s): {code or type(exc).__name__}: {exc}; "
                "records already written stay (re-running the step is safe: PutRecord of the same id and event "
                "time writes the same record)"
            ) from exc
    raise AssertionError("unreachable: the last attempt returns or raises")


def put_records(
    client: Any,
    feature_group: str,
    records: tuple[dict[str, Any], ...],
    *,
    max_attempts: int,
    base_delay_s: float,
    sleep: Callable[[float], None] = time.sleep,
    step: str = "ingest",
    workers: int = 1,
) -> PutResult:
    """PutRecord each record, ``workers`` calls in flight (boto3 clients are thread-safe); StepError if the service
    stays throttled or fails otherwise (nothing is dropped). Rejections come back in row order."""
    result = PutResult()

    def put(item: tuple[int, dict[str, Any]]) -> tuple[int, Rejected | None]:
        position, record = item
        return _put_one(client, feature_group, position, record, max_attempts=max_attempts,
                        base_delay_s=base_delay_s, sleep=sleep, step=step)  # fmt: skip

    if workers <= 1:
        outcomes = [put(item) for item in enumerate(records)]
    else:
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="put-record") as pool:
            futures = [pool.submit(put, item) for item in enumerate(records)]
            try:
                outcomes = [future.result() for future in futures]
            except BaseException:
                for future in futures:
                    future.cancel()
                raise
    for retries, rejected in outcomes:
        result.retries += retries
        if rejected is None:
            result.written += 1
        else:
            result.rejected.append(rejected)
    return result
