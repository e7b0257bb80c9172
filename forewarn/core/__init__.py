"""Core types every layer shares: events, customer state, triggers, time and money. Imports nothing above it."""

__version__ = "0.1.0"  # the package's version (pyproject.toml says the same; tests/test_service.py checks)
