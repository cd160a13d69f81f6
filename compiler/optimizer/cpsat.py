"""A second exact solver for the allocation across blocks: a CP-SAT multiple-choice model.

The optimizer's default (``optimize_pareto.merge``) is a dynamic program over the blocks' Pareto
sets. This module solves the same problem over the same sets with OR-Tools CP-SAT, so the two
can check each other (``optimize(..., solver="cpsat")``, ``aalp explain --solver cpsat``).

CP-SAT works in integers and our metrics and log-successes are floats, so every value is scaled
and rounded, and the rounding is made harmless in two ways: a *safe* model whose rounding can
only exclude plans (each solution is truly feasible), and a *relaxed* model whose rounding can
only admit plans (every truly feasible plan is a solution). ``solve`` explains the argument.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import reduce
from typing import Any

from aalp.optimizer.pareto import METRIC_KEYS, Point, combine

# Every scaled sum stays near 2**SCALE_BITS, well inside CP-SAT's 64-bit integers; the rounding
# of one option is then about 2**-SCALE_BITS of the largest value in play.
SCALE_BITS = 44
# Near-optimal plans enumerated for the exact check; more means the rounding window is crowded
# with ties (never seen in practice), reported as an error rather than answered inexactly.
MAX_ENUMERATED = 100_000

Choice = tuple[int, ...]
ZERO = Point((), tuple(0.0 for _ in METRIC_KEYS), 0.0, ())


@dataclass(frozen=True)
class Bounds:
    """The requirements as the blocks see them: success from below, metrics (by index in
    ``METRIC_KEYS``) from above; the same arguments as ``optimize_pareto.merge``."""

    min_success: float = 0.0
    upper: Mapping[int, float] = field(default_factory=dict)


def total(blocks: Sequence[Sequence[Point]], choice: Choice) -> Point:
    """The whole plan of ``choice``, summed block by block exactly as ``merge`` sums it."""
    return reduce(combine, (blocks[b][i] for b, i in enumerate(choice)), ZERO)


def meets(p: Point, bounds: Bounds) -> bool:
    """The bounds in floating point, as ``merge`` checks them."""
    return p.success >= bounds.min_success and all(
        p.metrics[i] <= b for i, b in bounds.upper.items()
    )


def rank(p: Point, objective: tuple[str, str]) -> tuple:
    """The order in which the optimizer prefers whole plans (best first; ties by success, then
    by the candidate order), the same as the dynamic program's."""
    sense, metric = objective
    if metric == "success":
        return (-p.log_success, p.metrics[METRIC_KEYS.index("cost")], p.order)
    if sense == "maximize":
        return (-p.metric(metric), -p.log_success, p.order)
    return (p.metric(metric), -p.log_success, p.order)


def _value(p: Point, objective: tuple[str, str]) -> float:
    """The objective as a quantity to minimize."""
    sense, metric = objective
    if metric == "success":
        return -p.log_success
    v = p.metric(metric)
    return -v if sense == "maximize" else v


def solve(
    blocks: Sequence[Sequence[Point]],
    objective: tuple[str, str],
    requirements: Bounds,
    exclude: Sequence[Choice] = (),
) -> Choice | None:
    """The best plan over the blocks' options: one index per block, or None if none is feasible.

    ``objective`` is ``(sense, metric)``; ``requirements`` bounds success from below and metrics
    from above; plans in ``exclude`` are never returned (the caller's full evaluation rejected
    them). The answer is the feasible plan first in ``rank``, the dynamic program's order.

    **Model.** One Boolean per option, exactly one true per block. Metrics add over blocks and
    ln(success) adds too, so the objective (its metric, or ln(success) to maximize) and every
    bound are linear in the Booleans once each option's value is scaled by a power-of-two
    budget over the largest value in play and rounded to an integer.

    **Rounding.** Each rounded value is off by less than one unit (plus a unit of margin for
    floating-point error), so two models bracket the true one:

    - the *safe* model rounds every option's ln(success) down and its bounded metrics up, and the
      bounds the other way: an integer-feasible plan is truly feasible;
    - the *relaxed* model rounds ln(success) up and the metrics down: every truly feasible plan
      is integer-feasible, so if it has no solution, no plan is feasible.

    The objective is rounded to the nearest unit, off by at most B/2 units over B blocks.

    **Exactness.** (1) The safe model's optimum, checked in floats, is a feasible incumbent I.
    (2) Options that cannot be part of a plan at least as good as I (their value plus the best
    of every other block is already worse) are dropped, and the objective is rescaled to the
    values left, so a unit is about B * 2**-44 of I's value. (3) The true optimum P* is truly
    feasible, hence relaxed-feasible, and no worse than I, so its rounded objective is at most
    I's plus B units: every relaxed-feasible plan within that window is enumerated, each is
    evaluated exactly in floats (summed as ``merge`` sums), and the best by ``rank`` among the
    truly feasible ones is returned. Without an incumbent the whole relaxed set is enumerated
    (each such plan lies within rounding of a bound, so it is small); empty means infeasible.
    Solves are deterministic: one worker and a fixed seed.
    """
    if not blocks:
        return () if meets(ZERO, requirements) and () not in exclude else None
    prob = _Problem(blocks, objective, requirements, exclude)
    if prob.empty():
        return None
    incumbent = prob.optimum(prob.options(), safe=True)
    if incumbent is not None and not _ok(prob, incumbent):
        incumbent = None  # the float sums disagree at the last bit: let the check decide
    window = None
    options = prob.options()
    if incumbent is not None:
        v = _value(total(blocks, incumbent), objective)
        if math.isfinite(v):
            options = prob.prune(v)
            window = v
    best: tuple | None = None
    for choice in prob.enumerate(options, window):
        if not _ok(prob, choice):
            continue
        key = rank(total(blocks, choice), objective)
        if best is None or key < best[0]:
            best = (key, choice)
    return None if best is None else best[1]


def _ok(prob: _Problem, choice: Choice) -> bool:
    return choice not in prob.exclude and meets(total(prob.blocks, choice), prob.bounds)


class _Problem:
    """The blocks' options with their values, and the CP-SAT models built over them."""

    def __init__(
        self,
        blocks: Sequence[Sequence[Point]],
        objective: tuple[str, str],
        bounds: Bounds,
        exclude: Sequence[Choice],
    ):
        self.blocks = blocks
        self.objective = objective
        self.bounds = bounds
        self.exclude = set(exclude)
        self.n = len(blocks)
        self.log_min = math.log(bounds.min_success) if bounds.min_success > 0 else None
        self.upper = {i: u for i, u in bounds.upper.items() if u < math.inf}
        self.cost = [[_value(p, objective) for p in s] for s in blocks]
        self._keep = self._feasible_alone()

    def empty(self) -> bool:
        return any(not k for k in self._keep)

    def options(self) -> list[list[int]]:
        return [list(k) for k in self._keep]

    def _feasible_alone(self) -> list[list[int]]:
        """Per block, the options that some plan could still complete within the bounds (with
        the other blocks at their best); a relative slack keeps every borderline option."""
        keep = [list(range(len(s))) for s in self.blocks]
        if self.log_min is not None:
            best = [max((p.log_success for p in s), default=-math.inf) for s in self.blocks]
            keep = self._filter(keep, [[p.log_success for p in s] for s in self.blocks], best, -1)
        for i, u in self.upper.items():
            vals = [[p.metrics[i] for p in s] for s in self.blocks]
            best = [min(v, default=math.inf) for v in vals]
            keep = self._filter(keep, vals, best, 1, u)
        return keep

    def _filter(
        self,
        keep: list[list[int]],
        vals: list[list[float]],
        best: list[float],
        sign: int,
        bound: float | None = None,
    ) -> list[list[int]]:
        """Options whose value plus the other blocks' best meets the bound (``sign`` 1: at most
        ``bound``; -1: ln(success) at least ``log_min``)."""
        limit = bound if sign > 0 else self.log_min
        assert limit is not None
        out = []
        for b, ks in enumerate(keep):
            others = math.fsum(best[:b] + best[b + 1 :])
            kept = []
            for i in ks:
                reach = vals[b][i] + others
                slack = 1e-9 * (1 + abs(vals[b][i]) + abs(others) + abs(limit))
                if (sign > 0 and reach <= limit + slack) or (sign < 0 and reach >= limit - slack):
                    kept.append(i)
            out.append(kept)
        return out

    def prune(self, v: float) -> list[list[int]]:
        """Options that can be part of a plan no worse than ``v`` (with the others at their
        cheapest among the options kept)."""
        keep = self.options()
        best = [min((self.cost[b][i] for i in ks), default=math.inf) for b, ks in enumerate(keep)]
        out = []
        for b, ks in enumerate(keep):
            others = math.fsum(best[:b] + best[b + 1 :])
            kept = []
            for i in ks:
                reach = self.cost[b][i] + others
                if reach <= v + 1e-9 * (1 + abs(v) + abs(self.cost[b][i]) + abs(others)):
                    kept.append(i)
            out.append(kept)
        return out

    def _model(self, options: list[list[int]], safe: bool, window: float | None) -> Any:
        """The multiple-choice model: its Booleans, and the scaled objective (not yet set)."""
        from ortools.sat.python import cp_model

        model = cp_model.CpModel()
        x = [{i: model.new_bool_var(f"b{b}o{i}") for i in ks} for b, ks in enumerate(options)]
        for xs in x:
            model.add_exactly_one(list(xs.values()))
        # safe: ln(success) rounded down and metrics up, their bounds the other way; relaxed:
        # the reverse (each with a unit of margin for floating-point error)
        lo, hi = (_floor, _ceil) if safe else (_ceil, _floor)
        if self.log_min is not None:
            vals = [[self.blocks[b][i].log_success for i in ks] for b, ks in enumerate(options)]
            scale = _scale(vals, self.n, self.log_min)
            terms = [
                lo(self.blocks[b][i].log_success, scale) * x[b][i]
                for b, ks in enumerate(options)
                for i in ks
            ]
            model.add(sum(terms) >= hi(self.log_min, scale))
        for m, u in sorted(self.upper.items()):
            vals = [[self.blocks[b][i].metrics[m] for i in ks] for b, ks in enumerate(options)]
            scale = _scale(vals, self.n, u)
            terms = [
                hi(self.blocks[b][i].metrics[m], scale) * x[b][i]
                for b, ks in enumerate(options)
                for i in ks
            ]
            model.add(sum(terms) <= lo(u, scale))
        for choice in sorted(self.exclude):
            if all(i in x[b] for b, i in enumerate(choice)):
                model.add(sum(x[b][i] for b, i in enumerate(choice)) <= self.n - 1)
        cost_vals = [[self.cost[b][i] for i in ks] for b, ks in enumerate(options)]
        scale = _scale(cost_vals, self.n, window)
        objective = sum(
            _nearest(self.cost[b][i], scale) * x[b][i] for b, ks in enumerate(options) for i in ks
        )
        if window is not None:
            # The true optimum is no worse than the incumbent: its rounded objective is at most
            # the incumbent's plus half a unit per block each way, plus a unit for float error.
            model.add(objective <= _nearest(window, scale) + self.n + 1)
        return model, x, objective

    def optimum(self, options: list[list[int]], safe: bool) -> Choice | None:
        """The model's optimum (safe or relaxed rounding), or None when it has no solution."""
        from ortools.sat.python import cp_model

        model, x, objective = self._model(options, safe, None)
        model.minimize(objective)
        solver = _solver()
        status = solver.solve(model)
        if status == cp_model.INFEASIBLE:
            return None
        if status != cp_model.OPTIMAL:
            raise RuntimeError(f"CP-SAT: {solver.status_name(status)}")
        return tuple(next(i for i, v in xs.items() if solver.boolean_value(v)) for xs in x)

    def enumerate(self, options: list[list[int]], window: float | None) -> list[Choice]:
        """Every plan of the relaxed model within the objective ``window`` (all without one)."""
        from ortools.sat.python import cp_model

        model, x, _objective = self._model(options, False, window)
        found: list[Choice] = []

        class Collect(cp_model.CpSolverSolutionCallback):
            def on_solution_callback(self) -> None:
                found.append(
                    tuple(next(i for i, v in xs.items() if self.boolean_value(v)) for xs in x)
                )
                if len(found) > MAX_ENUMERATED:
                    self.stop_search()

        solver = _solver()
        solver.parameters.enumerate_all_solutions = True
        status = solver.solve(model, Collect())
        if len(found) > MAX_ENUMERATED:
            raise RuntimeError(
                f"CP-SAT: more than {MAX_ENUMERATED} plans within rounding of the optimum"
            )
        if status not in (cp_model.OPTIMAL, cp_model.INFEASIBLE):
            raise RuntimeError(f"CP-SAT: {solver.status_name(status)}")
        return found


def _solver() -> Any:
    from ortools.sat.python import cp_model

    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1
    solver.parameters.random_seed = 0
    return solver


def _scale(vals: list[list[float]], n: int, bound: float | None) -> float:
    """Units per value: the largest finite magnitude in play, times the blocks, fits
    2**SCALE_BITS."""
    big = max(
        (abs(v) for vs in vals for v in vs if math.isfinite(v)),
        default=0.0,
    )
    if bound is not None and math.isfinite(bound):
        big = max(big, abs(bound))
    if big == 0.0:
        return 1.0
    return 2.0**SCALE_BITS / (n * big)


def _clamp(v: float) -> int:
    """Non-finite values (ln 0 = -inf) beyond every finite sum, yet far inside int64."""
    if math.isnan(v):
        raise ValueError("CP-SAT: a value is NaN")
    limit = 2 ** (SCALE_BITS + 4)
    return int(max(-limit, min(limit, v)))


def _floor(v: float, scale: float) -> int:
    """``v`` scaled, rounded down and one unit lower (for floating-point error)."""
    return _clamp(math.floor(v * scale) - 1) if math.isfinite(v) else _clamp(v)


def _ceil(v: float, scale: float) -> int:
    """``v`` scaled, rounded up and one unit higher (for floating-point error)."""
    return _clamp(math.ceil(v * scale) + 1) if math.isfinite(v) else _clamp(v)


def _nearest(v: float, scale: float) -> int:
    return _clamp(round(v * scale)) if math.isfinite(v) else _clamp(v)
