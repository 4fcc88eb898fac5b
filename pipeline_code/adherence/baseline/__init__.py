"""Baseline step: drift and model-quality baselines of a trained adherence model."""
