"""Default parameters of the evaluate step."""

DEFAULTS = {
    # Quality gate: the model is registrable only if test ROC-AUC reaches this.
    "min_roc_auc": 0.68,
    "calibration_bins": 10,
}
