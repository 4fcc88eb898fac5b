"""Tests of the approval-driven deployer (pipeline_code.deploy), its CLI and the Serving stack."""
