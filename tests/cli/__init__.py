"""Tests of the `mlops` command line."""
