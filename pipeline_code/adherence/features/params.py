"""Default parameters of the features step (none yet: the transform is fixed by the contract and the code)."""

DEFAULTS: dict[str, object] = {}
