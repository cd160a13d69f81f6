"""Calibration: measured rates and token counts in place of a spec's guesses.

``stats`` holds the estimators and their exact intervals, ``fit`` the curves in ``x`` fitted to
them, ``schema`` the calibration file (docs/calibration.md), and ``apply`` rewrites a checked
spec's ops with a file's estimates (or, under ``--confidence``, their one-sided bounds) before
anything is optimized.
"""
