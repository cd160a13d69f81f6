"""A model's pace: the seconds of one call (docs/model.md §1, seconds).

A model's ``speed prefill P tok/s decode D tok/s overhead O ms`` makes a call that reads R and
writes W tokens take ``O/1000 + R/P + W/D`` seconds. A part left out adds nothing. Prefill
time stays linear in R under ``attention quadratic`` too: a provider's prefill rate is measured
in tokens per second at the lengths it serves, and the quadratic term is the paper's cost unit,
not a clock.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aalp.front.ir import Speed


@dataclass(frozen=True)
class Pace:
    """One model's speed as the cost model uses it: fixed seconds per call, seconds per token
    read, seconds per token written."""

    overhead: Any = 0.0
    per_read: Any = 0.0
    per_write: Any = 0.0

    def seconds(self, reads: Any, writes: Any) -> Any:
        """The seconds of one call (plain arithmetic: floats or sympy alike).

        >>> Pace(0.2, 1 / 5000, 1 / 80).seconds(1000, 40)
        0.9
        """
        return self.overhead + reads * self.per_read + writes * self.per_write


NO_PACE = Pace()  # a model without a speed: its calls take no time (the plan's are unknown)


def pace_of(speed: Speed | None, value: Callable[[Any], Any]) -> Pace | None:
    """The ``Pace`` of a declared speed (None without one), ``value`` evaluating a formula."""
    if speed is None:
        return None
    return Pace(
        value(speed.overhead_ms) / 1000 if speed.overhead_ms is not None else 0.0,
        1 / value(speed.prefill) if speed.prefill is not None else 0.0,
        1 / value(speed.decode) if speed.decode is not None else 0.0,
    )
