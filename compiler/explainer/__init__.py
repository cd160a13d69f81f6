"""Explain a plan: the report (costs, growth, baselines, frontier), its text and its topology."""
