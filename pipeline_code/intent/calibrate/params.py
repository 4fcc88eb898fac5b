"""Default parameters of the intent calibrate step (out-of-scope rule on the shipped int8 model)."""

DEFAULTS = {
    "rules": "max_softmax,energy,centroid",
    # In-scope validation accuracy (a fraction) the out-of-scope threshold may cost; within it, recall is maximised.
    "max_accuracy_loss": 0.005,
    # Without oos rows in validation: reject this share of in-scope validation rows (max_softmax rule).
    "fallback_reject_rate": 0.01,
    "centroid_rows_per_class": 50,  # training rows per class whose embeddings make a class centroid
    "seed": 13,
}
