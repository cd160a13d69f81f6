"""What each metric counts and in which unit: every number a report or a graph prints is
labelled from here (docs/model.md, section 1, defines them).

>>> with_unit("dollars", "3,512"), with_unit("latency", "5.8e+08"), with_unit("success", "0.99")
('$3,512', '5.8e+08 forward passes', '0.99')
"""

from __future__ import annotations

#: metric -> its unit, short enough for a table's row label
UNITS: dict[str, str] = {
    "calls": "calls",
    "forward_passes": "forward passes",
    "cost": "m·tokens",
    "tokens": "tokens",
    "dollars": "$",
    "latency": "forward passes",
    "latency_calls": "calls",
    "success": "probability",
}

#: what the totals count, said once under the table
LEGEND = (
    "calls (in all) and tokens count every vote sample, red-flagged resample, retry and "
    "verifier call; "
    "cost is model size m × context tokens, summed over the tokens written (docs/model.md); "
    "latency is the critical path, in forward passes and in calls"
)


def labelled(metric: str) -> str:
    """A metric's name with its unit: ``dollars ($)``, ``latency (forward passes)``."""
    unit = UNITS.get(metric)
    if unit is None or unit == metric.replace("_", " "):
        return metric
    return f"{metric} ({unit})"


def with_unit(metric: str, shown: str) -> str:
    """A value already formatted, with its metric's unit (``$3,512``, ``10 calls``)."""
    unit = UNITS.get(metric)
    if unit is None or metric == "success":
        return shown
    if unit == "$":
        return f"${shown}" if not shown.startswith("-") else f"-${shown[1:]}"
    return f"{shown} {unit}"
