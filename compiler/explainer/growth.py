"""Growth classes confirmed numerically: re-optimize over a ladder of sizes and fit.

The claimed class of a plan's total (from its closed form, ``aalp.model.symbolic``) holds for fixed
decisions; the optimizer re-chooses decisions as the size grows (MAKER's k grows as ln s), so
the class of the *optimized* cost is confirmed here: the task is re-optimized at sizes spread
over many orders of magnitude, the log-log slope of the objective is fitted, and each candidate
class is scored by how flat ``value / class(n)`` is. The flattest is reported with the fit.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from aalp.front.ir import ChainStage, MapStage

# Candidate classes in n, in increasing order of growth.
CLASSES: tuple[tuple[str, Callable[[float], float]], ...] = (
    ("1", lambda n: 1.0),
    ("log n", lambda n: math.log(n)),
    ("log^2 n", lambda n: math.log(n) ** 2),
    ("n", lambda n: n),
    ("n log n", lambda n: n * math.log(n)),
    ("n log^2 n", lambda n: n * math.log(n) ** 2),
    ("n^2", lambda n: n * n),
    ("n^2 log n", lambda n: n * n * math.log(n)),
    ("n^3", lambda n: n**3),
)
LADDER = 6
TOLERANCE = 0.08  # |slope of log(value/class)| below which a class is confirmed


@dataclass(frozen=True)
class Growth:
    """How a metric grows with the size ``variable``.

    ``cls`` uses ``n`` for the variable (``"n log n"``); ``slope`` is the fitted log-log slope
    over the ladder's upper half; ``ratio_slope`` the slope of ``log(value/class(n))`` (about 0
    when the class is right); ``confirmed`` when it is within ``TOLERANCE``.
    """

    variable: str
    metric: str
    cls: str
    slope: float
    ratio_slope: float
    confirmed: bool
    sizes: tuple[float, ...]
    values: tuple[float, ...]
    claimed: str | None = None  # the symbolic class, when one was derived

    def pretty(self) -> str:
        """``Θ(s·log s)``: the class with the variable's name."""
        return theta(self.cls, self.variable)


def theta(cls: str, var: str) -> str:
    """``theta("n log n", "s") == "Θ(s·log s)"``."""
    text = cls.replace("n log", "n·log").replace("n^2 log", "n^2·log").replace("n", var)
    return f"Θ({text})"


def size_variable(task: Any) -> str | None:
    """The data the task's first map or chain stage runs over (the size of the task)."""
    for s in task.stages:
        if isinstance(s, MapStage | ChainStage):
            return s.over
    return task.data[0].name if task.data else None


def ladder(n0: float) -> list[int]:
    """``LADDER`` sizes spread geometrically from about ``n0^(1/2)`` to ``n0·2^12`` (at least
    4): logarithmic factors only show over many orders of magnitude."""
    top = math.log2(max(n0, 4.0)) + 12
    bottom = max(2.0, math.log2(max(n0, 4.0)) / 2)
    sizes = {int(2 ** (bottom + (top - bottom) * j / (LADDER - 1))) for j in range(LADDER)}
    return sorted(s for s in sizes if s >= 4)


def size_parameter(checked: Any, task: Any, variable: str) -> str | None:
    """The parameter that *is* the size (``items digits = n``), or None (``s = 2^disks - 1``)."""
    from aalp.front.ir import Name

    count = task.datum(variable).count
    if isinstance(count, Name) and any(p.name == count.id for p in checked.spec.params):
        return count.id
    return None


def resized(checked: Any, variable: str, n: int, task: Any = None) -> Any:
    """``checked`` with data ``variable`` at n units.

    When the size is a parameter, the spec is checked again with that parameter at n (so every
    formula and pin using it follows); otherwise only the data's count is changed.
    """
    from aalp.front.ir import Num

    param = size_parameter(checked, task, variable) if task is not None else None
    if param is not None:
        from aalp.checks.checker import check

        overrides: dict[str, Any] = {}
        for p in checked.spec.params:
            v = checked.env.get(p.name)
            if isinstance(p.value, Num) and isinstance(v, Fraction):
                overrides[p.name] = Num(v)
        overrides[param] = Num(Fraction(n))
        try:
            return check(checked.spec, overrides)
        except Exception:  # a size at which the spec no longer checks: skip that size
            return None
    env = dict(checked.env)
    env[variable] = Fraction(n)
    return dataclasses.replace(checked, env=env)


def slope(xs: Sequence[float], ys: Sequence[float]) -> float:
    """Least-squares slope of ``log y`` against ``log x`` (NaN with fewer than 2 points)."""
    pts = [(math.log(x), math.log(y)) for x, y in zip(xs, ys, strict=True) if x > 0 and y > 0]
    if len(pts) < 2:
        return math.nan
    mx = math.fsum(p[0] for p in pts) / len(pts)
    my = math.fsum(p[1] for p in pts) / len(pts)
    sxx = math.fsum((p[0] - mx) ** 2 for p in pts)
    sxy = math.fsum((p[0] - mx) * (p[1] - my) for p in pts)
    return sxy / sxx if sxx else math.nan


def classify(sizes: Sequence[float], values: Sequence[float], variable: str, metric: str) -> Growth:
    """The candidate class whose ratio ``value/class(n)`` is flattest over the ladder."""
    xs, ys = list(sizes), list(values)
    best = None
    for name, f in CLASSES:
        ratios = [y / f(x) for x, y in zip(xs, ys, strict=True)]
        s = slope(xs, ratios)
        if math.isnan(s):
            continue
        if best is None or abs(s) < abs(best[1]) - 1e-12:
            best = (name, s)
    if best is None:
        return Growth(variable, metric, "?", math.nan, math.nan, False, tuple(sizes), tuple(values))
    return Growth(
        variable,
        metric,
        best[0],
        slope(xs, ys),
        best[1],
        abs(best[1]) <= TOLERANCE,
        tuple(float(s) for s in sizes),
        tuple(values),
    )


def measure(
    checked: Any,
    variable: str,
    sizes: Sequence[int],
    value_of: Callable[[Any], float | None],
    metric: str,
) -> Growth:
    """Evaluate ``value_of(resized checked)`` on ``sizes`` and classify the growth."""
    xs, ys = [], []
    for n in sizes:
        v = value_of(resized(checked, variable, n))
        if v is not None and v > 0 and math.isfinite(v):
            xs.append(float(n))
            ys.append(v)
    return classify(xs, ys, variable, metric)
