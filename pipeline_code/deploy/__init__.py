"""Approval-driven deployer: an Approved model package of a known group becomes (or updates) its endpoint.

boto3 only (no SageMaker SDK), so the Lambda package stays small. ``decisions`` holds the pure functions (event
validation, names, request bodies), ``deployer`` the AWS calls, ``handler`` the Lambda entry point, ``batch`` the
batch transform job config. Every decision is one JSON log line (package ARN, action, reason).
"""
