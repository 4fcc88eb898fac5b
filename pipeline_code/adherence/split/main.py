"""Split step: the feature table in; train / validation / test feature tables and ``splits.csv`` out.

Outputs (one folder each, so a training job can mount them as channels): ``train/train.csv``,
``validation/validation.csv``, ``test/test.csv``, and ``splits/`` with ``splits.csv``
(``encounter_id,patient_nbr,split``) and ``split_summary.json``.
"""

from __future__ import annotations

from typing import Any

from pipeline_code.adherence.split.assign import SPLITS, split_summary, split_table
from pipeline_code.adherence.split.params import DEFAULTS
from pipeline_code.common import metrics
from pipeline_code.common.adherence_features import read_feature_table
from pipeline_code.common.context import PROCESSING, StepContext, StepError, run_in_container
from pipeline_code.common.io import write_csv, write_json
from pipeline_code.common.params import read_params

SPLITS_FILE = "splits.csv"
SUMMARY_FILE = "split_summary.json"


def run(ctx: StepContext) -> dict[str, Any]:
    """Assign patients to splits and write the three feature sets."""
    params = read_params(ctx, DEFAULTS)
    seed = params["seed"]
    fractions = (params["train_fraction"], params["validation_fraction"], params["test_fraction"])
    table = read_feature_table(ctx.input_dir("features"), what=f"{ctx.step_name}: input 'features'")
    try:
        split = split_table(table, fractions, seed)
    except ValueError as exc:
        raise StepError(f"{ctx.step_name}: {exc}") from exc
    summary = split_summary(table, split)
    if summary["patients_in_several_splits"]:  # cannot happen by construction; a guard worth its cost
        raise StepError(f"{ctx.step_name}: {summary['patients_in_several_splits']} patients are in several splits")
    for name in SPLITS:
        write_csv(table[split == name], ctx.output_dir(name) / f"{name}.csv")
    out = ctx.output_dir("splits")
    write_csv(table[["encounter_id", "patient_nbr"]].assign(split=split), out / SPLITS_FILE)
    write_json({"seed": seed, "fractions": dict(zip(SPLITS, fractions, strict=True)), **summary}, out / SUMMARY_FILE)
    return {
        **{f"{name}_rows": summary[name]["rows"] for name in SPLITS},
        **{f"{name}_positive_rate": metrics.rounded(summary[name]["positive_rate"]) for name in SPLITS},
    }


if __name__ == "__main__":
    run_in_container(PROCESSING, "AdherenceSplit", run)
