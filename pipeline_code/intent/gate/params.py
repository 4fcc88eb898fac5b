"""Default thresholds of the intent quality gate (a full training run; quick mode lowers them in its config)."""

DEFAULTS = {
    "min_accuracy": 0.90,  # test in-scope accuracy of the int8 model with its out-of-scope rule
    "min_oos_recall": 0.5,  # only where the test split has oos rows
    "max_quantization_drop_points": 1.0,  # fp32 - int8 test accuracy, percentage points
    "max_model_mib": 22.0,
    "fail_run": True,  # False: record the verdict without failing the run
}
