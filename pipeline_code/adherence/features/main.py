"""Features step: validated encounters in, one feature table out (ids, label, features).

Input ``validated`` (the validate step's ``validated.csv``). Output ``features/``: ``features.csv``,
``feature_schema.json`` (names, labels, categorical levels) and ``feature_summary.json``.
"""

from __future__ import annotations

from typing import Any

from pipeline_code.adherence.features.build import feature_summary, features_from_validated
from pipeline_code.common.adherence_features import feature_schema
from pipeline_code.common.context import PROCESSING, StepContext, run_in_container
from pipeline_code.common.contracts import adherence as contract
from pipeline_code.common.io import find_single_file, read_csv, write_csv, write_json

FEATURES_FILE = "features.csv"
SCHEMA_FILE = "feature_schema.json"
SUMMARY_FILE = "feature_summary.json"


def run(ctx: StepContext) -> dict[str, Any]:
    """Build the feature table of the validated encounters."""
    what = f"{ctx.step_name}: input 'validated'"
    source = find_single_file(ctx.input_dir("validated"), what=what)
    validated = read_csv(source, what=what, **contract.validated_read_options())
    table = features_from_validated(validated, source=str(source))
    out = ctx.output_dir("features")
    write_csv(table, out / FEATURES_FILE)
    write_json(feature_schema(), out / SCHEMA_FILE)
    summary = feature_summary(table)
    write_json(summary, out / SUMMARY_FILE)
    return {
        "rows": summary["rows"],
        "features": summary["features"],
        "constant_features": len(summary["constant_features"]),
        "with_prior_encounters": summary["with_prior_encounters"],
    }


if __name__ == "__main__":
    run_in_container(PROCESSING, "AdherenceFeatures", run)
