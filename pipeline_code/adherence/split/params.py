"""Default parameters of the split step."""

DEFAULTS = {
    "seed": 42,
    "train_fraction": 0.70,
    "validation_fraction": 0.15,
    "test_fraction": 0.15,
}
