"""Default parameters of the predict step."""

DEFAULTS = {
    "top_factors": 5,
}
