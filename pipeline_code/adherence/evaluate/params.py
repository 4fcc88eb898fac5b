"""Default parameters of the evaluate step."""

DEFAULTS = {
    # Quality gate: the model is registrable only if test ROC-AUC reaches this.
    "min_roc_auc": 0.68,
    "calibration_bins": 10,
    # bias_report.json: groups smaller than this are reported but left out of the largest gaps
    "min_group_rows": 100,
}
