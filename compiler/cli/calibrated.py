"""``--calibration`` and ``--confidence`` on a command that reads a spec: the spec's ops with
the file's estimates (or bounds), its warnings printed like the spec's."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from .common import print_diagnostics, source_of, usage_failure


def calibrated(
    checked: Any,
    file: str | Path,
    calibration: Path | None,
    confidence: float | None,
    task_name: str | None = None,
) -> Any:
    """``checked`` with the calibration applied (unchanged without one); a file that cannot
    be used is a usage error (exit 2)."""
    if calibration is None:
        if confidence is not None:
            raise click.UsageError("--confidence needs --calibration FILE")
        return checked
    from aalp.calibration import apply, schema

    try:
        read = schema.read(calibration)
        side = "estimate" if confidence is None else "pessimistic"
        applied = apply.apply(
            checked, read, task_name, side, confidence or 0.95, where=str(calibration)
        )
    except schema.CalibrationError as err:
        raise usage_failure(err) from None
    print_diagnostics(applied.warnings, source_of(file))
    return applied.checked
