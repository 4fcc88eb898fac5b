"""Predict step and batch prediction.

As a pipeline step: the model and the test feature set in; ``predictions/test_predictions.csv``
(``encounter_id,patient_nbr,label,probability,predicted_readmission,confidence``) and
``predictions/test_predictions.jsonl`` (one rich record per encounter, see :mod:`.explain`) out.

As batch prediction (``mlops predict adherence``): :func:`predict_file` scores a raw 50-column CSV (the label
``readmitted`` optional) with a published model folder.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pipeline_code.adherence.predict.explain import predict_table
from pipeline_code.adherence.predict.params import DEFAULTS
from pipeline_code.common import metrics
from pipeline_code.common.adherence_features import build_features, read_feature_table
from pipeline_code.common.context import PROCESSING, StepContext, StepError, run_in_container
from pipeline_code.common.contracts import adherence as contract
from pipeline_code.common.contracts.validation import REJECT_REASON
from pipeline_code.common.io import find_single_file, read_csv, write_csv
from pipeline_code.common.model_bundle import load_bundle
from pipeline_code.common.params import read_params

CSV_FILE = "test_predictions.csv"
JSONL_FILE = "test_predictions.jsonl"


def run(ctx: StepContext) -> dict[str, Any]:
    """Predict the test split: flat CSV for the run directory, rich JSONL per encounter."""
    params = read_params(ctx, DEFAULTS)
    bundle = load_bundle(ctx.input_dir("model"), what=f"{ctx.step_name}: input 'model'")
    table = read_feature_table(ctx.input_dir("test"), what=f"{ctx.step_name}: input 'test'")
    predictions = predict_table(bundle, table, top=params["top_factors"])
    out = ctx.output_dir("predictions")
    write_csv(predictions.table, out / CSV_FILE)
    predictions.write_jsonl(out / JSONL_FILE)
    flat = predictions.table
    return {
        "rows": len(flat),
        "flagged": int(flat["predicted_readmission"].sum()),
        "mean_probability": metrics.rounded(float(flat["probability"].mean())) if len(flat) else None,
        "with_brand_predictions": sum(1 for record in predictions.records if record["brands"]),
    }


def predict_file(model_dir: Path, input_path: Path, output_path: Path, *, top_factors: int = 5) -> dict[str, Any]:
    """Batch prediction: raw encounters (CSV / CSV.gz, or a folder with one) to JSONL, one record per accepted row.

    The input is validated against the data contract like training data, except that ``readmitted`` may be
    absent. Rejected rows are not dropped silently: they go to ``<output stem>.rejects.csv`` beside the output with a
    ``reject_reason``, and are counted in the result. History features come from the earlier encounters present
    in the same file. A missing or broken model folder, or an input that is not this format, is a StepError that
    names the path.
    """
    model_dir, input_path, output_path = Path(model_dir), Path(input_path), Path(output_path)
    bundle = load_bundle(model_dir, what="predict_file: model")
    what = "predict_file: input"
    source = find_single_file(input_path, what=what)
    raw = read_csv(source, what=what, **contract.READ_CSV_OPTIONS)
    result = contract.validate(raw, source=f"{what} {source}", require_target=False)
    predictions = predict_table(bundle, build_features(result.accepted), top=top_factors)
    output = predictions.write_jsonl(output_path)
    rejects_path = None
    if result.rows_rejected:
        rejects_path = output_path.with_name(output_path.name.split(".")[0] + ".rejects.csv")
        result.write_rejects(rejects_path, missing_token=contract.MISSING_TOKEN)
    if result.rows_in and not result.rows_accepted:
        raise StepError(
            f"{what}: all {result.rows_in} rows of {source} break the contract, see {rejects_path} "
            f"(e.g. {result.rejected[REJECT_REASON].iloc[0]})"
        )
    return {
        "input": str(source),
        "output": str(output),
        "rejects": str(rejects_path) if rejects_path else None,
        "rows_in": result.rows_in,
        "rows_predicted": len(predictions.records),
        "rows_rejected": result.rows_rejected,
        "flagged": int(predictions.table["predicted_readmission"].sum()),
        "threshold": bundle.threshold,
    }


if __name__ == "__main__":
    run_in_container(PROCESSING, "AdherencePredict", run)
