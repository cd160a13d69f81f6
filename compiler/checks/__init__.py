"""Checks of a parsed spec: names, values, pins and task structure, with precise diagnostics."""
