"""Validate step: raw encounters in, contract-conforming encounters and a rejects file out.

Input ``raw_data``: a folder (or file) holding exactly one ``.csv`` / ``.csv.gz`` in the raw 50-column format.
Outputs: ``validated/validated.csv`` (accepted rows, raw format) and ``validation_report/`` with ``rejects.csv``
(rejected rows as read plus ``reject_reason``) and ``validation_report.json``.
"""

from __future__ import annotations

from typing import Any

from pipeline_code.adherence.validate.checks import build_report, check_acceptable
from pipeline_code.adherence.validate.params import DEFAULTS
from pipeline_code.common import metrics
from pipeline_code.common.context import PROCESSING, StepContext, run_in_container
from pipeline_code.common.contracts import adherence as contract
from pipeline_code.common.io import find_single_file, read_csv, sha256_of, write_csv, write_json
from pipeline_code.common.params import read_params

VALIDATED_FILE = "validated.csv"
REJECTS_FILE = "rejects.csv"
REPORT_FILE = "validation_report.json"


def run(ctx: StepContext) -> dict[str, Any]:
    """Validate the raw file; write accepted rows, rejects and the report; return the counts."""
    max_reject_fraction = read_params(ctx, DEFAULTS)["max_reject_fraction"]
    what = f"{ctx.step_name}: input 'raw_data'"
    source = find_single_file(ctx.input_dir("raw_data"), what=what)
    raw = read_csv(source, what=what, **contract.READ_CSV_OPTIONS)
    result = contract.validate(raw, source=str(source))
    report = build_report(result, source=source.name, sha256=sha256_of(source), max_reject_fraction=max_reject_fraction)
    # Rejects and report are written before the verdict so that a failed run still shows what was wrong.
    report_dir = ctx.output_dir("validation_report")
    result.write_rejects(report_dir / REJECTS_FILE, missing_token=contract.MISSING_TOKEN)
    write_json(report, report_dir / REPORT_FILE)
    check_acceptable(result, source=str(source), max_reject_fraction=max_reject_fraction, step=ctx.step_name)
    write_csv(result.accepted, ctx.output_dir("validated") / VALIDATED_FILE, na_rep=contract.MISSING_TOKEN)
    return {
        "rows_in": result.rows_in,
        "rows_accepted": result.rows_accepted,
        "rows_rejected": result.rows_rejected,
        "patients": report["patients"],
        "positive_rate": metrics.rounded(report["positive_rate"]),
    }


if __name__ == "__main__":
    run_in_container(PROCESSING, "AdherenceValidate", run)
