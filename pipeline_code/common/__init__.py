"""Shared by every step: the container contract, data contracts, I/O helpers."""
