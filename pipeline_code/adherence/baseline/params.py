"""Default parameters of the baseline step.

The drift thresholds were chosen by ``benchmarks/drift_quality.py`` (``make bench``): with them, batches of 500
raw encounters resampled from the held-out split raise a false alarm in at most 1 % of cases and each of the four
synthetic shifts is detected in at least 99 % (README, "Monitoring"). They are written into the baseline, so that
``mlops drift`` judges a batch by the thresholds of the run that trained the model.
"""

DEFAULTS = {
    "bins": 10,  # quantile bins of integer columns and of the predicted probability
    "min_level_share": 0.005,  # levels rarer than this in the training split share one "other" bin
    "psi_threshold": 0.1,
    "prediction_psi_threshold": 0.1,
    "missing_increase_threshold": 0.05,
    "type_violation_threshold": 0.01,
    "unseen_threshold": 0.01,
    "significance": 0.01,
    # Model Monitor's own drift distance (0..1) in constraints.json; 0.1 is its default
    "model_monitor_distance_threshold": 0.1,
    # model-quality constraints: alarm when a metric falls this far (absolute) below its validation value
    "quality_tolerance": 0.05,
}
