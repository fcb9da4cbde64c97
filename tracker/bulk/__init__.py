"""Bulk changes from the issue list."""
