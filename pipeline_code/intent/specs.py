"""Step specifications and the pipeline definition of the intent model.

::

    raw_data ─► IntentValidate ─validated─► IntentTrain ─model (PyTorch checkpoint)─► IntentExport ─onnx_fp32─┐
                  └─ validation_report                                                  └─ export_report      │
                                            IntentQuantize ◄─ onnx_fp32, validated ◄──────────────────────────┘
                                              └─ onnx_int8 ─► IntentCalibrate (validated) ─► edge_model (shipped)
              IntentEvaluate ◄─ edge_model, onnx_fp32, model, validated ─► evaluation ─► IntentGate ─► quality_gate

``raw_data`` is a folder with ``train.csv``, ``test.csv`` and optionally ``valid.csv`` (columns ``text,label``).
On SageMaker the training step runs in a PyTorch CPU (or GPU) training image; the other steps need onnxruntime,
tokenizers and (export, evaluate) torch, so they run in the same image as processing jobs.
"""

from __future__ import annotations

from pipeline_code.dag.spec import (
    TRAINING_MODEL_PATH,
    DependencySpec,
    DependencyType,
    JobType,
    NodeType,
    OutputSpec,
    PipelineDefinition,
    PublishedArtifact,
    QualityGate,
    StepSpecification,
    processing_output_path,
)
from pipeline_code.intent.calibrate.params import DEFAULTS as CALIBRATE_DEFAULTS
from pipeline_code.intent.evaluate.params import DEFAULTS as EVALUATE_DEFAULTS
from pipeline_code.intent.export.params import DEFAULTS as EXPORT_DEFAULTS
from pipeline_code.intent.gate.params import DEFAULTS as GATE_DEFAULTS
from pipeline_code.intent.quantize.params import DEFAULTS as QUANTIZE_DEFAULTS
from pipeline_code.intent.train.params import DEFAULTS as TRAIN_DEFAULTS
from pipeline_code.intent.validate.params import DEFAULTS as VALIDATE_DEFAULTS

VALIDATE = "IntentValidate"
TRAIN = "IntentTrain"
EXPORT = "IntentExport"
QUANTIZE = "IntentQuantize"
CALIBRATE = "IntentCalibrate"
EVALUATE = "IntentEvaluate"
GATE = "IntentGate"

_PACKAGE = "pipeline_code.intent"


def _out(name: str, output_type: DependencyType, description: str) -> OutputSpec:
    return OutputSpec(name, output_type, processing_output_path(name), description=description)


def _dep(name: str, dependency_type: DependencyType, source: str, description: str, *keywords: str) -> DependencySpec:
    return DependencySpec(
        name,
        dependency_type,
        compatible_sources=(source,),
        semantic_keywords=(name, *keywords),
        description=description,
    )


def _validated() -> DependencySpec:
    return _dep("validated", DependencyType.TRAINING_DATA, VALIDATE, "train/valid/test.csv and labels.json", "text")


VALIDATE_SPEC = StepSpecification(
    step_type=VALIDATE,
    node_type=NodeType.SOURCE,
    job_type=JobType.PROCESSING,
    entry_point=f"{_PACKAGE}.validate.main",
    dependencies=(
        DependencySpec(
            "raw_data",
            DependencyType.RAW_DATA,
            semantic_keywords=("raw", "utterances", "csv"),
            description="Folder with train.csv, test.csv, optional valid.csv (text,label; label oos: out of scope)",
        ),
    ),
    outputs=(
        _out("validated", DependencyType.TRAINING_DATA, "train.csv, valid.csv, test.csv, labels.json"),
        _out("validation_report", DependencyType.EVALUATION_REPORT, "rejects.csv and validation_report.json"),
    ),
    parameters=VALIDATE_DEFAULTS,
    description="Text/label contract; every row accepted or rejected with a reason; validation split if none given.",
)

TRAIN_SPEC = StepSpecification(
    step_type=TRAIN,
    node_type=NodeType.INTERNAL,
    job_type=JobType.TRAINING,
    entry_point=f"{_PACKAGE}.train.main",
    dependencies=(_validated(),),
    outputs=(
        OutputSpec(
            "model",
            DependencyType.MODEL_ARTIFACTS,
            TRAINING_MODEL_PATH,
            aliases=("checkpoint",),
            description="PyTorch checkpoint: weights.pt, encoder_config.json, tokenizer.json, labels.json, meta",
        ),
    ),
    parameters=TRAIN_DEFAULTS,
    description="Fine-tune all-MiniLM-L6-v2 with a centroid-initialised cosine head (oos as a class if in train).",
)

EXPORT_SPEC = StepSpecification(
    step_type=EXPORT,
    node_type=NodeType.INTERNAL,
    job_type=JobType.PROCESSING,
    entry_point=f"{_PACKAGE}.export.main",
    dependencies=(
        _dep("model", DependencyType.MODEL_ARTIFACTS, TRAIN, "PyTorch checkpoint", "checkpoint", "pytorch"),
        _validated(),
    ),
    outputs=(
        _out("onnx_fp32", DependencyType.MODEL_ARTIFACTS, "model.onnx (fp32, fused), tokenizer.json, labels.json"),
        _out("export_report", DependencyType.EVALUATION_REPORT, "export_report.json: ONNX vs PyTorch parity"),
    ),
    parameters=EXPORT_DEFAULTS,
    description="ONNX opset 17 export with BERT fusions; fails unless ONNX fp32 matches PyTorch on validation.",
)

QUANTIZE_SPEC = StepSpecification(
    step_type=QUANTIZE,
    node_type=NodeType.INTERNAL,
    job_type=JobType.PROCESSING,
    entry_point=f"{_PACKAGE}.quantize.main",
    dependencies=(
        _dep("onnx_fp32", DependencyType.MODEL_ARTIFACTS, EXPORT, "ONNX fp32 folder", "onnx", "fp32"),
        _validated(),
    ),
    outputs=(
        _out("onnx_int8", DependencyType.MODEL_ARTIFACTS, "model.onnx (dynamic int8), tokenizer.json, labels.json"),
        _out("quantize_report", DependencyType.EVALUATION_REPORT, "quantize_report.json: variants on validation"),
    ),
    parameters=QUANTIZE_DEFAULTS,
    description="ONNX Runtime dynamic int8; per-tensor vs per-channel chosen on validation accuracy.",
)

CALIBRATE_SPEC = StepSpecification(
    step_type=CALIBRATE,
    node_type=NodeType.INTERNAL,
    job_type=JobType.PROCESSING,
    entry_point=f"{_PACKAGE}.calibrate.main",
    dependencies=(
        _dep("onnx_int8", DependencyType.MODEL_ARTIFACTS, QUANTIZE, "ONNX int8 folder", "onnx", "int8"),
        _validated(),
    ),
    outputs=(
        _out(
            "edge_model",
            DependencyType.MODEL_ARTIFACTS,
            "The shipped folder: model.onnx (int8), tokenizer.json, labels.json, oos_rule.json, metadata.json",
        ),
    ),
    parameters=CALIBRATE_DEFAULTS,
    description="Compare out-of-scope rules on validation, keep the best with its threshold, seal the model folder.",
)

EVALUATE_SPEC = StepSpecification(
    step_type=EVALUATE,
    node_type=NodeType.INTERNAL,
    job_type=JobType.PROCESSING,
    entry_point=f"{_PACKAGE}.evaluate.main",
    dependencies=(
        _dep("edge_model", DependencyType.MODEL_ARTIFACTS, CALIBRATE, "Shipped int8 model folder", "int8", "edge"),
        _dep("onnx_fp32", DependencyType.MODEL_ARTIFACTS, EXPORT, "ONNX fp32 folder", "onnx", "fp32"),
        _dep("model", DependencyType.MODEL_ARTIFACTS, TRAIN, "PyTorch checkpoint", "checkpoint", "pytorch"),
        _validated(),
    ),
    outputs=(
        _out(
            "evaluation",
            DependencyType.EVALUATION_REPORT,
            "metrics.json, confusion_top.csv, reliability.png, test_predictions.jsonl",
        ),
    ),
    parameters=EVALUATE_DEFAULTS,
    description="int8 vs fp32 on test: accuracy, OOS recall/precision, macro F1, ECE, size, latency vs PyTorch.",
)

GATE_SPEC = StepSpecification(
    step_type=GATE,
    node_type=NodeType.SINK,
    job_type=JobType.PROCESSING,
    entry_point=f"{_PACKAGE}.gate.main",
    dependencies=(
        _dep("evaluation", DependencyType.EVALUATION_REPORT, EVALUATE, "metrics.json of the evaluate step", "metrics"),
    ),
    outputs=(_out("quality_gate", DependencyType.EVALUATION_REPORT, "quality_gate.json: verdict and checks"),),
    parameters=GATE_DEFAULTS,
    description="Accuracy, OOS recall, quantization loss and size against thresholds; fails the run below them.",
)

SPECS = (VALIDATE_SPEC, TRAIN_SPEC, EXPORT_SPEC, QUANTIZE_SPEC, CALIBRATE_SPEC, EVALUATE_SPEC, GATE_SPEC)

PUBLISH = {
    "metrics.json": PublishedArtifact(EVALUATE, "evaluation", "metrics.json"),
    "confusion_top.csv": PublishedArtifact(EVALUATE, "evaluation", "confusion_top.csv"),
    "reliability.png": PublishedArtifact(EVALUATE, "evaluation", "reliability.png"),
    "test_predictions.jsonl": PublishedArtifact(EVALUATE, "evaluation", "test_predictions.jsonl"),
    "quality_gate.json": PublishedArtifact(GATE, "quality_gate", "quality_gate.json"),
    "model": PublishedArtifact(CALIBRATE, "edge_model"),
    "rejects.csv": PublishedArtifact(VALIDATE, "validation_report", "rejects.csv"),
    "validation_report.json": PublishedArtifact(VALIDATE, "validation_report", "validation_report.json"),
}

QUALITY_GATE = QualityGate(
    report_step=GATE,
    report_output="quality_gate",
    report_file="quality_gate.json",
    metric="values.accuracy",
    threshold_parameter="min_accuracy",
    model_step=CALIBRATE,
    model_output="edge_model",
    content_types=("text/plain",),
    response_types=("application/json",),
)
"""Register the shipped (int8, sealed) model folder only if its test in-scope accuracy reaches the gate step's
``min_accuracy``; the gate step itself also fails the run on its other checks (OOS recall, quantization, size)."""

BATCH_PREDICT = f"{_PACKAGE}.predict:predict_file"
"""``module:function`` of the batch predictor (``fn(model_dir, input_path, output_path) -> dict``)."""

DEFINITION = PipelineDefinition(
    name="intent",
    specs=SPECS,
    external_inputs=("raw_data",),
    publish=PUBLISH,
    batch_predict=BATCH_PREDICT,
    report_sections="pipeline_code.intent.report:sections",
    quality_gate=QUALITY_GATE,
    description="Intent classification with out-of-scope rejection: fine-tuned MiniLM, int8 ONNX for the edge.",
)
