"""Validate raw encounters against the adherence data contract and account for every row."""

from __future__ import annotations

from typing import Any

from pipeline_code.common.context import StepError
from pipeline_code.common.contracts import adherence as contract
from pipeline_code.common.contracts.validation import ValidationResult


def build_report(result: ValidationResult, *, source: str, sha256: str, max_reject_fraction: float) -> dict[str, Any]:
    """The validation report: counts that reconcile, why rows were rejected, what is missing, the label balance."""
    accepted = result.accepted
    positives = int(contract.label_from_target(accepted[contract.TARGET_COLUMN]).sum()) if len(accepted) else 0
    return {
        "contract": {"name": contract.CONTRACT_NAME, "version": contract.CONTRACT_VERSION},
        "source": {"file": source, "sha256": sha256},
        **result.summary(),
        "reject_fraction": result.rows_rejected / result.rows_in if result.rows_in else 0.0,
        "max_reject_fraction": max_reject_fraction,
        "patients": int(accepted[contract.PATIENT_ID].nunique()) if len(accepted) else 0,
        "positives": positives,
        "positive_rate": positives / len(accepted) if len(accepted) else 0.0,
    }


def check_acceptable(result: ValidationResult, *, source: str, max_reject_fraction: float, step: str) -> None:
    """Fail the step when there is nothing to learn from or too much is broken.

    More than ``max_reject_fraction`` rejected means the file is probably not this data set (or a broken export); no
    pipeline should quietly train on the remainder.
    """
    if result.rows_in == 0:
        raise StepError(f"{step}: {source} has a header but no rows")
    examples = "; ".join(result.summary()["reject_examples"][:3])
    if result.rows_accepted == 0:
        raise StepError(f"{step}: all {result.rows_in} rows of {source} break the contract (e.g. {examples})")
    fraction = result.rows_rejected / result.rows_in
    if fraction > max_reject_fraction:
        raise StepError(
            f"{step}: {result.rows_rejected} of {result.rows_in} rows of {source} ({fraction:.1%}) break the contract, "
            f"more than max_reject_fraction={max_reject_fraction:.1%} (e.g. {examples})"
        )
