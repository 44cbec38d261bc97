"""Shared pytest configuration."""

import os

# Deterministic, quiet CPU runs for every test.
os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
