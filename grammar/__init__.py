"""The spec grammar (package data)."""
