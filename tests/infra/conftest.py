"""The foundation stacks' tests use the session-wide ``synthesized`` fixture of ``tests/conftest.py``."""
