"""Default parameters of the validate step (overridden per pipeline in config/pipelines/adherence.yaml)."""

DEFAULTS = {
    # Fail the step when more than this share of rows breaks the contract: the file is then most likely not this
    # data set or a broken export, and training on the remainder would hide it.
    "max_reject_fraction": 0.5,
}
