"""What each metric counts and in which unit (docs/model.md, section 1, defines them): the
labels every report, graph and program header prints beside a number.

>>> labelled("dollars"), labelled("latency"), labelled("tokens")
('dollars ($)', 'latency (forward passes)', 'tokens')
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
    "seconds": "s",
    "success": "probability",
}


def labelled(metric: str) -> str:
    """A metric's name with its unit: ``dollars ($)``, ``latency (forward passes)``."""
    unit = UNITS.get(metric)
    if unit is None or unit == metric.replace("_", " "):
        return metric
    return f"{metric} ({unit})"
