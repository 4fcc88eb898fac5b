"""Reusable L3 constructs: one idea each (a secure bucket, a platform key, a role whose grants land in a
customer-managed policy). Not a top-level ``constructs`` package: that name belongs to the CDK dependency."""
