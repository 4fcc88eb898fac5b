"""Helpers of the adherence tests: step contexts by hand, copying outputs downstream, a whole pipeline run, and
synthetic raw rows drawn from the data contract."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from hypothesis import strategies as st

from pipeline_code.common.context import PROCESSING, TRAINING, StepContext
from pipeline_code.common.contracts import adherence as contract
from pipeline_code.common.contracts.schema import Kind, Role

ROOT = Path(__file__).resolve().parents[2]
DATA_DIR = ROOT / "data" / "diabetes-130-us-hospitals"
DATA_FILE = DATA_DIR / "diabetic_data.csv.gz"
SAMPLE_ROWS = 3000

# Small, fast settings: the tests check behaviour, not model quality.
FAST_TRAIN = {
    "num_threads": 1,
    "learning_rate": 0.1,
    "num_boost_round": 150,
    "early_stopping_rounds": 20,
    "min_data_in_leaf": 20,
    "min_data_per_group": 20,
}


def make_ctx(root: Path, step: str, *, job_type: str = PROCESSING, **parameters: Any) -> StepContext:
    return StepContext(job_type=job_type, root=root / step, parameters=parameters, step_name=step)


def feed(source: StepContext, output: str, target: StepContext, input_name: str) -> None:
    """Copy a step output into a downstream step's input folder, as the executor does."""
    shutil.copytree(source.output_dir(output), target.input_dir(input_name), dirs_exist_ok=True)


def put_file(ctx: StepContext, input_name: str, path: Path) -> Path:
    folder = ctx.input_dir(input_name)
    folder.mkdir(parents=True, exist_ok=True)
    return Path(shutil.copy2(path, folder / path.name))


def write_raw(frame: pd.DataFrame, path: Path) -> Path:
    """Write raw rows in the shipped format ('?' for missing)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=False, na_rep=contract.MISSING_TOKEN)
    return path


@dataclass
class PipelineRun:
    """Contexts of one run of all eight steps on the sample, and what each run() returned."""

    contexts: dict[str, StepContext]
    results: dict[str, dict[str, Any]]
    root: Path

    def output(self, step: str, name: str) -> Path:
        """Output folder ``name`` of ``step`` (the short key: "split", "train", ...)."""
        return self.contexts[step].output_dir(name)


def run_pipeline(root: Path, raw_file: Path, train_params: dict[str, Any] | None = None) -> PipelineRun:
    from pipeline_code.adherence.baseline.main import run as baseline
    from pipeline_code.adherence.evaluate.main import run as evaluate
    from pipeline_code.adherence.features.main import run as features
    from pipeline_code.adherence.ingest.main import run as ingest
    from pipeline_code.adherence.predict.main import run as predict
    from pipeline_code.adherence.split.main import run as split
    from pipeline_code.adherence.train.main import run as train
    from pipeline_code.adherence.validate.main import run as validate

    ctx = {
        "validate": make_ctx(root, "AdherenceValidate"),
        "features": make_ctx(root, "AdherenceFeatures"),
        "ingest": make_ctx(root, "AdherenceIngest", event_time="2026-01-02T03:04:05Z"),
        "split": make_ctx(root, "AdherenceSplit"),
        "train": make_ctx(root, "AdherenceTrain", job_type=TRAINING, **(train_params or FAST_TRAIN)),
        "evaluate": make_ctx(root, "AdherenceEvaluate"),
        "predict": make_ctx(root, "AdherencePredict"),
        "baseline": make_ctx(root, "AdherenceBaseline"),
    }
    results: dict[str, dict[str, Any]] = {}
    put_file(ctx["validate"], "raw_data", raw_file)
    results["validate"] = validate(ctx["validate"])
    feed(ctx["validate"], "validated", ctx["features"], "validated")
    results["features"] = features(ctx["features"])
    feed(ctx["features"], "features", ctx["ingest"], "features")
    results["ingest"] = ingest(ctx["ingest"])
    feed(ctx["features"], "features", ctx["split"], "features")
    results["split"] = split(ctx["split"])
    for name in ("train", "validation"):
        feed(ctx["split"], name, ctx["train"], name)
    results["train"] = train(ctx["train"])
    for step in ("evaluate", "predict", "baseline"):
        ctx[step].input_dir("model").parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(ctx["train"].model_dir, ctx[step].input_dir("model"))
        if step != "baseline":
            feed(ctx["split"], "test", ctx[step], "test")
    feed(ctx["split"], "validation", ctx["evaluate"], "validation")
    results["evaluate"] = evaluate(ctx["evaluate"])
    results["predict"] = predict(ctx["predict"])
    feed(ctx["validate"], "validated", ctx["baseline"], "validated")
    feed(ctx["split"], "splits", ctx["baseline"], "splits")
    feed(ctx["split"], "validation", ctx["baseline"], "validation")
    results["baseline"] = baseline(ctx["baseline"])
    return PipelineRun(ctx, results, root)


# --- synthetic rows from the contract -------------------------------------------------------------------------------

SAMPLE_CODES = ("250.83", "250", "250.01", "V57", "V45.81", "E909", "8", "428", "414.01", "786", "996.81")


def _value(col: Any) -> st.SearchStrategy[Any]:
    if col.kind is Kind.INTEGER:
        values: st.SearchStrategy[Any] = st.integers(col.min_value, min(col.max_value, col.min_value + 60)).map(str)
    elif col.kind is Kind.CATEGORY:
        values = st.sampled_from(col.levels)
    elif col.kind is Kind.OPEN_CATEGORY:
        values = st.sampled_from((*col.levels, "Dentistry", "Speech"))
    else:
        values = st.sampled_from(SAMPLE_CODES)
    return st.one_of(st.none(), values) if col.nullable else values


@st.composite
def encounter_frames(draw: Callable[..., Any], min_rows: int = 1, max_rows: int = 12, label: bool = True) -> Any:
    """Raw frames (text, None for missing) that meet the contract; few patients, so some have history."""
    n = draw(st.integers(min_rows, max_rows))
    columns = [
        c for c in contract.COLUMNS if c.name not in contract.ID_COLUMNS and (label or c.role is not Role.TARGET)
    ]
    rows = []
    for i in range(n):
        row = {col.name: draw(_value(col)) for col in columns}
        row[contract.ENCOUNTER_ID] = str(1000 + i)
        row[contract.PATIENT_ID] = str(draw(st.integers(1, 4)))
        rows.append(row)
    order = [c.name for c in contract.COLUMNS if c.name in rows[0]]
    return pd.DataFrame(rows, columns=order, dtype=object)
