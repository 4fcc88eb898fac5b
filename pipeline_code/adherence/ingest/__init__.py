"""Ingest step: the feature table into the Feature Store (SageMaker) or a local offline store (this machine)."""
