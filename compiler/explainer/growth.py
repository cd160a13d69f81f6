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
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from aalp.diagnostics import SpecError
from aalp.front.ir import ChainStage, MapStage
from aalp.optimizer.driver import OptimizeResult, optimize
from aalp.optimizer.work import SearchCut

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
# The growth fit may evaluate as many decisions as the optimization it explains, and at least
# this many (a tiny optimization still deserves a fit).
GROWTH_BUDGET_FLOOR = 2000
# A size of the ladder is started while the budget lasts, and all the sizes together may do
# this many budgets of work: a size that would pass it is cut and left out of the fit.
GROWTH_WORK_BOUND = 4


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
    """The class ``cls`` (in n) written in the variable ``var``.

    >>> theta("n log n", "s")
    'Θ(s·log s)'
    """
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


# Each class as n^p·(ln n)^q, for sizes too large for a float (the ratio is taken in logs).
_EXPONENTS = {
    "1": (0, 0),
    "log n": (0, 1),
    "log^2 n": (0, 2),
    "n": (1, 0),
    "n log n": (1, 1),
    "n log^2 n": (1, 2),
    "n^2": (2, 0),
    "n^2 log n": (2, 1),
    "n^3": (3, 0),
}


def _ratio(y: float, name: str, f: Callable[[float], float], x: float) -> float:
    """``y / f(x)``; where an exact integer size makes f(x) too large for a float (n² log n at
    n = 10^300) the ratio is computed in logs (0 when y is not positive: ``slope`` skips it)."""
    try:
        return y / f(x)
    except OverflowError:
        if y <= 0:
            return 0.0
        p, q = _EXPONENTS[name]
        return math.exp(math.log(y) - p * math.log(x) - q * math.log(math.log(x)))


def classify(sizes: Sequence[float], values: Sequence[float], variable: str, metric: str) -> Growth:
    """The candidate class whose ratio ``value/class(n)`` is flattest over the ladder."""
    xs, ys = list(sizes), list(values)
    best = None
    for name, f in CLASSES:
        ratios = [_ratio(y, name, f, x) for x, y in zip(xs, ys, strict=True)]
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


# ---------------------------------------------------------------------------------------------
# The optimized plan's growth: re-optimize on the ladder, fit, hold against the closed form
# ---------------------------------------------------------------------------------------------

Points = list[tuple[float, float]]


def growth_series(
    checked: Any,
    result: OptimizeResult,
    objective: str | None = None,
    extra_pins: Any = None,
    budget: int | None = None,
    deadline: float | None = None,
) -> tuple[Growth | None, dict[str, Growth]]:
    """Re-optimize on a ladder of sizes of the task's size variable; classify the growth of
    the plan's objective and of every baseline's, and hold it against the symbolic class.

    ``budget`` bounds the decisions the re-optimizations may evaluate in all (by default the
    optimization's own count, so the fit never costs more than what it explains); the ladder
    is climbed from its smallest size and stops when the budget is spent. The sizes together
    never evaluate more than ``GROWTH_WORK_BOUND`` budgets: a size cut there is left out."""
    from aalp.model.symbolic import with_pins  # a baseline's pins stay formulas: x = k stays k

    if budget is None:
        budget = max(result.evaluations, GROWTH_BUDGET_FLOOR)
    task = next(t for t in checked.spec.tasks if t.name == result.task)
    var = size_variable(task)
    if var is None or var not in checked.env:
        return None, {}
    shown = size_parameter(checked, task, var) or var
    metric = result.objective[1] if result.objective[1] != "success" else "cost"
    plan_pts, base_pts = _climb(
        checked, result, task, var, metric, objective, extra_pins, budget, deadline
    )
    plan_g = _fit(
        checked,
        result.task,
        plan_pts,
        result.plan.decisions if result.plan else None,
        shown,
        metric,
    )
    bases = {}
    spec_pins = {b.name: b.pins for b in task.baselines}
    for b in result.baselines:
        decisions = with_pins(b.plan.decisions, spec_pins[b.name]) if b.plan else None
        g = _fit(checked, result.task, base_pts[b.name], decisions, shown, metric)
        if g is not None:
            bases[b.name] = g
    return plan_g, bases


def _climb(
    checked: Any,
    result: OptimizeResult,
    task: Any,
    var: str,
    metric: str,
    objective: str | None,
    extra_pins: Any,
    budget: int,
    deadline: float | None,
) -> tuple[Points, dict[str, Points]]:
    """``(size, metric)`` of the optimum and of each valid baseline at each size of the
    ladder that was re-optimized within ``budget`` and ``deadline``."""
    spent = 0
    bound = GROWTH_WORK_BOUND * budget
    plan_pts: Points = []
    base_pts: dict[str, Points] = {b.name: [] for b in result.baselines}
    for n in ladder(float(checked.env[var])):
        if spent >= budget or (deadline is not None and time.monotonic() > deadline):
            break
        sized = resized(checked, var, n, task)
        if sized is None:
            continue
        try:
            r = optimize(
                sized,
                result.task,
                objective,
                extra_pins,
                frontier=False,
                deadline=deadline,
                explain_infeasible=False,
                max_work=bound - spent,
            )
        except SpecError:  # e.g. a pinned x larger than this size's data: skip the size
            continue
        except SearchCut:  # the work bound passed after this size's search
            break
        if not r.proven:
            break  # the deadline or the work bound passed: this size's optimum is not known
        spent += r.evaluations
        if r.feasible and r.plan is not None:
            plan_pts.append((n, r.plan.value(metric)))
        elif result.plan is not None:
            # No plan meets the requirements at this size (a fixed success target gets harder
            # as the task grows): measure the chosen plan's own decisions there instead.
            value = _fixed_plan_value(sized, result.task, result.plan.decisions, metric)
            if value is not None:
                plan_pts.append((n, value))
        for b in r.baselines:
            if b.plan is not None and b.plan.valid:
                base_pts[b.name].append((n, b.plan.value(metric)))
    return plan_pts, base_pts


def _fit(
    checked: Any, task: str, pts: Points, decisions: Any, var: str, metric: str
) -> Growth | None:
    """The class of ``pts`` (None with fewer than 3 usable points), confirmed against the
    closed form's class of ``decisions`` where there is one."""
    pts = [(x, y) for x, y in pts if y > 0 and math.isfinite(y)]
    if len(pts) < 3:
        return None
    g = classify([p[0] for p in pts], [p[1] for p in pts], var, metric)
    claimed = _claimed(checked, task, decisions, metric, var)
    if claimed is None:
        return g
    return confirm(g, claimed)


def _fixed_plan_value(checked: Any, task: str, decisions: Any, metric: str) -> float | None:
    """The metric of ``decisions`` evaluated on a resized spec (None if it cannot run there)."""
    from aalp.model.cost import evaluate

    try:
        ev = evaluate(checked, task, decisions)
    except Exception:  # e.g. a granularity larger than this size's data
        return None
    value = ev.value(metric)
    return value if math.isfinite(value) else None


def _claimed(checked: Any, task: str, decisions: Any, metric: str, var: str) -> str | None:
    """The growth class of the plan's asymptotic closed form in ``var`` (``model.symbolic``)."""
    if decisions is None:
        return None
    try:
        from aalp.model import symbolic

        expr = symbolic.closed_form(checked, task, decisions, metric, asymptotic=True)
        sym = next((s for s in expr.free_symbols if s.name == var), None)
        if sym is None:
            return "Θ(1)"
        return symbolic.growth_class(expr, sym)
    except Exception:  # a plan the symbolic module cannot express: numeric class only
        return None


def joint_growth(checked: Any, task: str, decisions: Any, metric: str) -> str | None:
    """The symbolic growth class in every size parameter at once (``Θ(b^2·k^2·l^2)``)."""
    if decisions is None:
        return None
    try:
        from aalp.model import symbolic
        from aalp.model.cost import build_context

        expr = symbolic.closed_form(checked, task, decisions, metric, asymptotic=True)
        names = symbolic.size_symbols(build_context(checked, task))
        syms = sorted((s for s in expr.free_symbols if s.name in names), key=lambda s: s.name)
        if not syms:
            return "Θ(1)"
        return symbolic.growth_class(expr, syms)
    except Exception:  # a plan the symbolic module cannot express
        return None


def confirm(g: Growth, claimed: str) -> Growth:
    """``g`` with ``claimed`` recorded and confirmed by the slope of value/claimed(n)."""
    f = _class_function(claimed, g.variable)
    if f is None:
        return dataclasses.replace(g, claimed=claimed)
    try:
        ratios = [y / f(x) for x, y in zip(g.sizes, g.values, strict=True)]
        rs = slope(list(g.sizes), ratios)
    except (ValueError, ZeroDivisionError, OverflowError):
        return dataclasses.replace(g, claimed=claimed)
    return dataclasses.replace(g, claimed=claimed, ratio_slope=rs, confirmed=abs(rs) <= TOLERANCE)


def _class_function(claimed: str, var: str) -> Callable[[float], float] | None:
    """``Θ(s·log s)`` as a function of s (None for forms with other symbols).

    >>> _class_function("Θ(s^2·log^2 s)", "s")(math.e) == math.e**2
    True
    >>> _class_function("Θ(b·s)", "s") is None
    True
    """
    body = claimed.strip()
    if not (body.startswith("Θ(") and body.endswith(")")):
        return None
    body = body[2:-1]
    if "+" in body:
        return None
    text = body.replace("·", "*")
    text = re.sub(r"log\^(\d+) (\w+)", r"log(\2)**\1", text)
    text = re.sub(r"log (\w+)", r"log(\1)", text)
    text = text.replace("^", "**")
    import sympy

    try:
        expr = sympy.sympify(text, locals={var: sympy.Symbol(var, positive=True)})
    except (sympy.SympifyError, SyntaxError, TypeError):
        return None
    if {s.name for s in expr.free_symbols} - {var}:
        return None
    fn = sympy.lambdify(sympy.Symbol(var, positive=True), expr, "math")
    return lambda n: float(fn(n))
