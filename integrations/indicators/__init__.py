"""Indicators (issue #16)."""
