"""Tests of the spec-driven DAG layer and the local executor."""
