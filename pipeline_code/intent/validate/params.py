"""Default parameters of the intent validate step."""

DEFAULTS = {
    # An utterance longer than this is not an utterance (a pasted document, a broken export); the model reads only
    # its first tokens anyway.
    "max_chars": 1000,
    # Without a validation file, this share of train (stratified by label, fixed seed) becomes validation.
    "valid_fraction": 0.1,
    "seed": 13,
    # > 0: keep at most this many accepted rows per label in each file (quick mode on a subset; first rows kept).
    "max_rows_per_label": 0,
    # Fail when more than this share of a file breaks the contract: most likely not a text,label file at all.
    "max_reject_fraction": 0.5,
}
