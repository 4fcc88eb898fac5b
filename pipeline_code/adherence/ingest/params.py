"""Default parameters of the ingest step."""

DEFAULTS = {
    # Empty: write the local offline store (Parquet in the run directory). Set by the SageMaker pipeline to the stage's
    # feature group, the step then calls PutRecord.
    "feature_group_name": "",
    # ISO 8601 UTC; filled in by the back end with the run's start time, so a retry of the same run writes the same
    # records again (idempotent) while a new run adds a new point in time.
    "event_time": "",
    # PutRecord attempts per record on throttling / service errors (exponential back-off from base_delay_s).
    "max_attempts": 6,
    "base_delay_s": 0.1,
    # PutRecord calls in flight: one at a time, 100k rows take tens of minutes of instance time.
    "workers": 16,
}
