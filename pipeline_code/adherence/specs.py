"""Step specifications and the pipeline definition of the adherence model.

Steps name no other step: each declares what it needs (logical name, artefact type, compatible sources, keywords)
and what it produces; the DAG resolver wires them. Dependency logical names equal the logical names of the outputs
that satisfy them, so any resolver that prefers exact names finds one answer.

::

    raw_data ─► AdherenceValidate ─validated─► AdherenceFeatures ─features─► AdherenceSplit
                   └─ validation_report                                       ├─ splits
                                  train, validation ◄──────────────────────────┤
                 AdherenceTrain ◄─┘                       validation, test ◄───┘
                      └─ model ─► AdherenceEvaluate (validation, test) ─► evaluation ─► quality gate
                              ├─► AdherencePredict  (test)             ─► predictions
                              └─► AdherenceBaseline (validated, splits, validation) ─► baseline (drift-check
                                  baselines of the registered model: data quality, model quality, bias, local drift)
    features ─► AdherenceIngest ─► Feature Store records (SageMaker) / local offline store, ingestion_report
"""

from __future__ import annotations

from pipeline_code.adherence.baseline.params import DEFAULTS as BASELINE_DEFAULTS
from pipeline_code.adherence.evaluate.params import DEFAULTS as EVALUATE_DEFAULTS
from pipeline_code.adherence.features.params import DEFAULTS as FEATURES_DEFAULTS
from pipeline_code.adherence.ingest.params import DEFAULTS as INGEST_DEFAULTS
from pipeline_code.adherence.predict.params import DEFAULTS as PREDICT_DEFAULTS
from pipeline_code.adherence.split.params import DEFAULTS as SPLIT_DEFAULTS
from pipeline_code.adherence.train.params import DEFAULTS as TRAIN_DEFAULTS
from pipeline_code.adherence.validate.params import DEFAULTS as VALIDATE_DEFAULTS
from pipeline_code.dag.spec import (
    TRAINING_MODEL_PATH,
    DependencySpec,
    DependencyType,
    DriftBaselines,
    ExecutionVariable,
    JobType,
    NodeType,
    OutputSpec,
    PipelineDefinition,
    PublishedArtifact,
    QualityGate,
    StepSpecification,
    processing_output_path,
)

VALIDATE = "AdherenceValidate"
FEATURES = "AdherenceFeatures"
SPLIT = "AdherenceSplit"
TRAIN = "AdherenceTrain"
EVALUATE = "AdherenceEvaluate"
PREDICT = "AdherencePredict"
INGEST = "AdherenceIngest"
BASELINE = "AdherenceBaseline"

_PACKAGE = "pipeline_code.adherence"


def _processing_output(name: str, output_type: DependencyType, description: str) -> OutputSpec:
    return OutputSpec(name, output_type, processing_output_path(name), description=description)


def _split_input(name: str, dependency_type: DependencyType, description: str) -> DependencySpec:
    return DependencySpec(
        name,
        dependency_type,
        compatible_sources=(SPLIT,),
        semantic_keywords=(name, "split", "features"),
        description=description,
    )


def _model_input() -> DependencySpec:
    return DependencySpec(
        "model",
        DependencyType.MODEL_ARTIFACTS,
        compatible_sources=(TRAIN,),
        semantic_keywords=("model", "lightgbm", "artifacts"),
        description="Self-contained model folder (model.txt, model_meta.json with the operating threshold)",
    )


VALIDATE_SPEC = StepSpecification(
    step_type=VALIDATE,
    node_type=NodeType.SOURCE,
    job_type=JobType.PROCESSING,
    entry_point=f"{_PACKAGE}.validate.main",
    dependencies=(
        DependencySpec(
            "raw_data",
            DependencyType.RAW_DATA,
            semantic_keywords=("raw", "encounters", "csv"),
            description="Folder (or file) with exactly one .csv / .csv.gz of raw encounters, 50 contract columns",
        ),
    ),
    outputs=(
        _processing_output("validated", DependencyType.PROCESSING_OUTPUT, "validated.csv: rows that meet the contract"),
        _processing_output(
            "validation_report",
            DependencyType.EVALUATION_REPORT,
            "rejects.csv (rejected rows + reject_reason) and validation_report.json (counts that reconcile)",
        ),
    ),
    parameters=VALIDATE_DEFAULTS,
    description="Check raw encounters against the data contract; every row is accepted or rejected with a reason.",
)

FEATURES_SPEC = StepSpecification(
    step_type=FEATURES,
    node_type=NodeType.INTERNAL,
    job_type=JobType.PROCESSING,
    entry_point=f"{_PACKAGE}.features.main",
    dependencies=(
        DependencySpec(
            "validated",
            DependencyType.PROCESSING_OUTPUT,
            compatible_sources=(VALIDATE,),
            semantic_keywords=("validated", "clean", "contract"),
            description="validated.csv from the validate step",
        ),
    ),
    outputs=(
        _processing_output(
            "features",
            DependencyType.PROCESSING_OUTPUT,
            "features.csv (ids, label, features), feature_schema.json, feature_summary.json",
        ),
    ),
    parameters=FEATURES_DEFAULTS,
    description="Demographics, utilisation, ICD-9 chapters, admission/discharge groups, brand features, history.",
)

SPLIT_SPEC = StepSpecification(
    step_type=SPLIT,
    node_type=NodeType.INTERNAL,
    job_type=JobType.PROCESSING,
    entry_point=f"{_PACKAGE}.split.main",
    dependencies=(
        DependencySpec(
            "features",
            DependencyType.PROCESSING_OUTPUT,
            compatible_sources=(FEATURES,),
            semantic_keywords=("features", "feature table"),
            description="features.csv from the features step",
        ),
    ),
    outputs=(
        _processing_output("train", DependencyType.TRAINING_DATA, "train.csv: training feature set"),
        _processing_output("validation", DependencyType.TRAINING_DATA, "validation.csv: early stopping, threshold"),
        _processing_output("test", DependencyType.TRAINING_DATA, "test.csv: held-out feature set"),
        _processing_output(
            "splits",
            DependencyType.PROCESSING_OUTPUT,
            "splits.csv (encounter_id,patient_nbr,split), split_summary.json",
        ),
    ),
    parameters=SPLIT_DEFAULTS,
    description="Patient-grouped, stratified 70/15/15 split with a fixed seed.",
)

TRAIN_SPEC = StepSpecification(
    step_type=TRAIN,
    node_type=NodeType.INTERNAL,
    job_type=JobType.TRAINING,
    entry_point=f"{_PACKAGE}.train.main",
    dependencies=(
        _split_input("train", DependencyType.TRAINING_DATA, "Training channel"),
        _split_input("validation", DependencyType.TRAINING_DATA, "Validation channel (early stopping, threshold)"),
    ),
    outputs=(
        OutputSpec(
            "model",
            DependencyType.MODEL_ARTIFACTS,
            TRAINING_MODEL_PATH,
            aliases=("model_artifacts",),
            description="model.txt, model_meta.json (features, categorical, threshold), feature_schema.json",
        ),
    ),
    parameters=TRAIN_DEFAULTS,
    description="LightGBM with early stopping on validation; threshold = highest reaching the recall target.",
)

EVALUATE_SPEC = StepSpecification(
    step_type=EVALUATE,
    node_type=NodeType.SINK,
    job_type=JobType.PROCESSING,
    entry_point=f"{_PACKAGE}.evaluate.main",
    dependencies=(
        _model_input(),
        _split_input("validation", DependencyType.TRAINING_DATA, "Validation feature set"),
        _split_input("test", DependencyType.TRAINING_DATA, "Test feature set"),
    ),
    outputs=(
        _processing_output(
            "evaluation",
            DependencyType.EVALUATION_REPORT,
            "metrics.json, quality_gate.json, roc_curve.png, pr_curve.png, calibration.png, bias_report.json",
        ),
    ),
    parameters=EVALUATE_DEFAULTS,
    description="ROC-AUC, PR-AUC, precision/recall/F1 at the threshold, ECE, Brier, plots, quality gate.",
)

PREDICT_SPEC = StepSpecification(
    step_type=PREDICT,
    node_type=NodeType.SINK,
    job_type=JobType.PROCESSING,
    entry_point=f"{_PACKAGE}.predict.main",
    dependencies=(
        _model_input(),
        _split_input("test", DependencyType.TRAINING_DATA, "Test feature set"),
    ),
    outputs=(
        _processing_output(
            "predictions",
            DependencyType.PREDICTIONS,
            "test_predictions.csv and test_predictions.jsonl (risk factors, per-brand predictions)",
        ),
    ),
    parameters=PREDICT_DEFAULTS,
    description="Probability, confidence, top-5 SHAP risk factors and per-brand predictions for the test split.",
)

INGEST_SPEC = StepSpecification(
    step_type=INGEST,
    node_type=NodeType.SINK,
    job_type=JobType.PROCESSING,
    entry_point=f"{_PACKAGE}.ingest.main",
    dependencies=(
        DependencySpec(
            "features",
            DependencyType.PROCESSING_OUTPUT,
            compatible_sources=(FEATURES,),
            semantic_keywords=("features", "feature table"),
            description="features.csv from the features step",
        ),
    ),
    outputs=(
        _processing_output(
            "ingestion_report",
            DependencyType.EVALUATION_REPORT,
            "ingestion_report.json (rows in = written + rejected) and rejects.csv (reason per row)",
        ),
        _processing_output(
            "offline_store",
            DependencyType.PROCESSING_OUTPUT,
            "local offline store: <group>/data/year=/month=/day=/hour=/<sha>.parquet (empty on SageMaker)",
        ),
    ),
    parameters=INGEST_DEFAULTS,
    description="Feature table into the Feature Store (PutRecord, idempotent per run) or the local offline store.",
    network_access=True,  # PutRecord calls the Feature Store runtime API
    execution_parameters={"event_time": ExecutionVariable.START_DATE_TIME},
)

BASELINE_SPEC = StepSpecification(
    step_type=BASELINE,
    node_type=NodeType.SINK,
    job_type=JobType.PROCESSING,
    entry_point=f"{_PACKAGE}.baseline.main",
    dependencies=(
        DependencySpec(
            "validated",
            DependencyType.PROCESSING_OUTPUT,
            compatible_sources=(VALIDATE,),
            semantic_keywords=("validated", "clean", "contract"),
            description="validated.csv: the raw encounters the model was trained on",
        ),
        DependencySpec(
            "splits",
            DependencyType.PROCESSING_OUTPUT,
            compatible_sources=(SPLIT,),
            semantic_keywords=("splits", "assignment"),
            description="splits.csv: which split each encounter is in",
        ),
        _model_input(),
        _split_input("validation", DependencyType.TRAINING_DATA, "Validation feature set (model-quality baseline)"),
    ),
    outputs=(
        _processing_output(
            "baseline",
            DependencyType.EVALUATION_REPORT,
            "data_quality/ and model_quality/ (Model Monitor statistics.json, constraints.json), "
            "bias/analysis_config.json, drift_baseline.json (mlops drift)",
        ),
    ),
    parameters=BASELINE_DEFAULTS,
    description="Drift-check baselines from the training split (data contract) and the validation predictions.",
)

SPECS = (
    VALIDATE_SPEC,
    FEATURES_SPEC,
    SPLIT_SPEC,
    TRAIN_SPEC,
    EVALUATE_SPEC,
    PREDICT_SPEC,
    INGEST_SPEC,
    BASELINE_SPEC,
)

PUBLISH = {
    "metrics.json": PublishedArtifact(EVALUATE, "evaluation", "metrics.json"),
    "quality_gate.json": PublishedArtifact(EVALUATE, "evaluation", "quality_gate.json"),
    "roc_curve.png": PublishedArtifact(EVALUATE, "evaluation", "roc_curve.png"),
    "pr_curve.png": PublishedArtifact(EVALUATE, "evaluation", "pr_curve.png"),
    "calibration.png": PublishedArtifact(EVALUATE, "evaluation", "calibration.png"),
    "bias_report.json": PublishedArtifact(EVALUATE, "evaluation", "bias_report.json"),
    "baseline": PublishedArtifact(BASELINE, "baseline"),
    "splits.csv": PublishedArtifact(SPLIT, "splits", "splits.csv"),
    "test_predictions.csv": PublishedArtifact(PREDICT, "predictions", "test_predictions.csv"),
    "test_predictions.jsonl": PublishedArtifact(PREDICT, "predictions", "test_predictions.jsonl"),
    "model": PublishedArtifact(TRAIN, "model"),
    "rejects.csv": PublishedArtifact(VALIDATE, "validation_report", "rejects.csv"),
    "validation_report.json": PublishedArtifact(VALIDATE, "validation_report", "validation_report.json"),
    "ingestion_report.json": PublishedArtifact(INGEST, "ingestion_report", "ingestion_report.json"),
}

QUALITY_GATE = QualityGate(
    report_step=EVALUATE,
    report_output="evaluation",
    report_file="metrics.json",
    metric="test.roc_auc",
    threshold_parameter="min_roc_auc",
    model_step=TRAIN,
    content_types=("text/csv",),
    response_types=("application/json",),
    baselines=DriftBaselines(
        step=BASELINE,
        output="baseline",
        data_quality="data_quality",
        model_quality="model_quality",
        bias_config="bias/analysis_config.json",
    ),
)
"""Register the model only if test ROC-AUC reaches the evaluate step's ``min_roc_auc``; the registered package
carries the baseline step's data-quality, model-quality and bias baselines as its drift-check baselines."""

BATCH_PREDICT = f"{_PACKAGE}.predict.main:predict_file"
"""``module:function`` of the batch predictor (``fn(model_dir, input_path, output_path) -> dict``)."""

DEFINITION = PipelineDefinition(
    name="adherence",
    specs=SPECS,
    external_inputs=("raw_data",),
    publish=PUBLISH,
    batch_predict=BATCH_PREDICT,
    report_sections=f"{_PACKAGE}.report:sections",
    description="30-day readmission risk of diabetic inpatient encounters (UCI Diabetes 130-US hospitals).",
    quality_gate=QUALITY_GATE,
)
