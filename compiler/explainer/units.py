"""What each metric counts and in which unit: every number a report or a graph prints is
labelled from here (docs/model.md, section 1, defines them).

>>> with_unit("dollars", "3,512"), with_unit("latency", "5.8e+08"), with_unit("success", "0.99")
('$3,512', '5.8e+08 forward passes', '0.99')
"""

from __future__ import annotations

from aalp.model.units import UNITS, labelled

__all__ = ["LEGEND", "UNITS", "labelled", "with_unit"]

#: what the totals count, said once under the table
LEGEND = (
    "calls and tokens count every vote sample, red-flagged resample, retry, classifier and "
    "verifier call; "
    "cost is model size m × context tokens, summed over the tokens written (docs/model.md); "
    "latency is the critical path, in forward passes and in calls"
)


def with_unit(metric: str, shown: str) -> str:
    """A value already formatted, with its metric's unit (``$3,512``, ``10 calls``)."""
    unit = UNITS.get(metric)
    if unit is None or metric == "success":
        return shown
    if unit == "$":
        return f"${shown}" if not shown.startswith("-") else f"-${shown[1:]}"
    return f"{shown} {unit}"
