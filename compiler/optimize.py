"""The optimizer: the cheapest plan that meets the requirements, and the true optimum of the model.

Method (docs/explain.md, "How the optimum is found"):

1. Split the task's ops into blocks whose decisions interact (``aalp.space``).
2. For each block, evaluate every candidate assignment with the cost model: symbolic decisions
   are enumerated; integer ones (granularity, fan-in) take candidate values that never
   enumerate units (``optimize_candidates``).
3. Prune each block to its Pareto set over the objective, every bounded metric and success.
4. Merge the blocks' Pareto sets exactly (an exact dynamic program over the blocks: metrics add,
   success multiplies), pick the best plan meeting every requirement and re-verify it with one
   full evaluation in floating point. ``solver="cpsat"`` picks it with a CP-SAT multiple-choice
   model over the same sets instead (``optimize_cpsat``), an independent check of the merge.
5. Refine the integer candidates around the chosen values until their neighbours are adjacent
   integers, and around every other local minimum, and repeat 3–4.

Ties are broken by a stable order (smaller candidate values and earlier choices first), so the
same spec always gives the same plan.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from . import expr as ex
from . import optimize_blocks as ob
from . import optimize_candidates as cand
from .diagnostics import Diagnostic, SpecError
from .ir import METRICS, NO_SPAN, Task
from .optimize_eval import Evaluator, View
from .optimize_pareto import INDEX, METRIC_KEYS, Point, merge, pareto, success_meets
from .space import Space, Value, build, env_of, parse_pin_text, select_task

# Bounds are applied with this relative slack while pruning (so a plan on the boundary is never
# lost to rounding in a partial sum) and then checked exactly on the full evaluation.
SLACK = 1e-9
MAX_REFINE_ROUNDS = 80
LOCAL_MINIMA = 3
FRONTIER_POINTS = 24


@dataclass(frozen=True)
class Requirement:
    """``require metric cmp bound`` with the bound evaluated."""

    metric: str
    cmp: str
    bound: float

    def holds(self, value: float) -> bool:
        return value >= self.bound if self.cmp == ">=" else value <= self.bound

    def __str__(self) -> str:
        return f"{self.metric} {self.cmp} {self.bound:g}"


@dataclass(frozen=True)
class Plan:
    """A fully decided plan with its evaluation by the cost model."""

    decisions: Mapping[str, Value]
    evaluation: Any  # aalp.cost.Evaluation
    metrics: Mapping[str, float]
    success: float
    valid: bool
    meets: bool
    problems: tuple[str, ...] = ()

    def value(self, metric: str) -> float:
        return self.success if metric == "success" else self.metrics[metric]


@dataclass(frozen=True)
class FrontierPoint:
    decisions: Mapping[str, Value]
    metrics: Mapping[str, float]
    success: float


@dataclass(frozen=True)
class BaselineResult:
    """A baseline: its pins, the plan they give (unpinned decisions at their best), and
    ``ratio`` = baseline objective / plan objective (None when undefined)."""

    name: str
    pins: Mapping[str, Value]
    plan: Plan | None
    ratio: float | None


@dataclass(frozen=True)
class OptimizeResult:
    task: str
    objective: tuple[str, str]  # (sense, metric)
    requirements: tuple[Requirement, ...]
    feasible: bool
    plan: Plan | None  # the optimum; when infeasible, the plan of best achievable success
    why: tuple[str, ...]  # why infeasible (empty when feasible)
    frontier_success: tuple[FrontierPoint, ...]  # objective metric vs success
    frontier_latency: tuple[FrontierPoint, ...]  # objective metric vs latency (meeting success)
    frontier_metric: str
    baselines: tuple[BaselineResult, ...]
    notes: tuple[str, ...] = ()
    evaluations: int = 0
    pins: Mapping[str, Value] = field(default_factory=dict)


def _error(message: str) -> SpecError:
    return SpecError([Diagnostic("error", "E510", message, NO_SPAN)])


def objective_of(task: Task, objective: str | None) -> tuple[str, str]:
    """``(sense, metric)``: ``--objective`` wins over the spec's; default minimize cost."""
    if objective is None:
        if task.objective is not None:
            return task.objective.sense, task.objective.metric
        return "minimize", "cost"
    metric = objective.strip()
    if metric not in METRICS:
        from .suggest import did_you_mean

        raise _error(f"unknown objective '{metric}': {did_you_mean(metric, METRICS, 'metric')}")
    return ("maximize" if metric == "success" else "minimize"), metric


def requirements_of(task: Task, checked: Any) -> tuple[Requirement, ...]:
    env = env_of(checked)
    out = []
    for r in task.requirements:
        try:
            bound = ex.evaluate(r.bound, env)
        except ex.EvalError as err:
            raise _error(f"cannot evaluate the bound of 'require {r.metric}': {err}") from None
        out.append(Requirement(r.metric, r.cmp, bound))
    return tuple(out)


def parse_pins(space: Space, pins: Mapping[str, Any] | Sequence[str] | None) -> dict[str, Value]:
    """Extra pins from the command line (``op.field=value``) or a mapping."""
    if not pins:
        return {}
    items = [parse_pin_text(p) for p in pins] if not isinstance(pins, Mapping) else pins.items()
    ops = {o.op for o in space.ops}
    out: dict[str, Value] = {}
    for key, raw in items:
        op, _, fld = key.partition(".")
        if op not in ops:
            raise _error(f"--pin: no op named '{op}' (ops: {', '.join(sorted(ops))})")
        if fld not in ("x", "model", "vote", "votes", "retries", "fanin", "history"):
            raise _error(f"--pin: '{fld}' is not a decision (x, model, vote, votes, ...)")
        if isinstance(raw, int):
            value: Value = raw
        elif fld in ("model", "vote", "history") or raw in ("inf", "unbounded"):
            value = "inf" if raw == "unbounded" else str(raw)
        else:
            try:
                value = int(str(raw))
            except ValueError:
                raise _error(f"--pin {key}: expected an integer, got '{raw}'") from None
        _check_pin(space, op, fld, value)
        out[key] = value
    return out


def _check_pin(space: Space, op: str, fld: str, value: Value) -> None:
    """A clear error for a pin that cannot mean anything (never a traceback later)."""
    from .suggest import did_you_mean

    os_ = space.op(op)
    choices: tuple[str, ...] = ()
    if fld == "model":
        choices = os_.models
    elif fld == "vote":
        choices = ("none", "ahead_by", "majority")
    elif fld == "history":
        if not any(op == h for b in space.blocks for h, _o in b.history):
            raise _error(f"--pin {op}.history: '{op}' has no history choice (history choose)")
        choices = ("stateless", "full")
    if choices and value not in choices:
        hint = did_you_mean(str(value), choices, fld)
        raise _error(f"--pin {op}.{fld}: '{value}' is not one of {', '.join(choices)}; {hint}")
    if fld == "x":
        if os_.x is None:
            raise _error(f"--pin {op}.x: '{op}' has no granularity")
        if not (isinstance(value, int) and os_.x.lo <= value <= os_.x.hi):
            raise _error(f"--pin {op}.x: {value} is outside {os_.x.lo}..{os_.x.hi}")
    if fld == "fanin":
        if not any(op == f for b in space.blocks for f, _d in b.fanin):
            raise _error(f"--pin {op}.fanin: '{op}' has no fan-in choice (fanin choose)")
        if not (isinstance(value, int) and value >= 2):
            raise _error(f"--pin {op}.fanin: must be an integer of at least 2")
    if (
        fld in ("votes", "retries")
        and value != "inf"
        and not (isinstance(value, int) and value >= 1)
    ):
        raise _error(f"--pin {op}.{fld}: must be a positive integer")


class _Solver:
    """Everything about one task that does not change between solves (pins aside)."""

    def __init__(self, checked: Any, task: Task, space: Space, method: str = "dp"):
        self.checked = checked
        self.method = method  # "dp" (optimize_pareto.merge) or "cpsat" (optimize_cpsat)
        self.task = task
        self.space = space
        self.env = env_of(checked)
        self.evaluator = Evaluator(checked, task)
        self.notes: list[str] = []
        self.multimodal: set[str] = set()

    def states(self, pins: Mapping[str, Value]) -> tuple[list[ob.BlockState], dict[str, Value]]:
        base = ob.defaults(self.space, self.task, pins)
        states = []
        for b in self.space.blocks:
            st = ob.make_state(self.space, self.task, b, self.checked, pins)
            for n in ob.init_values(st, self.task, self.env, base, self.evaluator):
                if n not in self.notes:
                    self.notes.append(n)
            states.append(st)
        return states, base

    def points(self, states: list[ob.BlockState], base: dict[str, Value]) -> list[list[Point]]:
        return [ob.block_points(st, base, self.evaluator) for st in states]

    def plan(self, decisions: Mapping[str, Value], reqs: Sequence[Requirement]) -> Plan:
        view = self.evaluator(decisions)
        return _plan(view, decisions, reqs)


def _plan(view: View, decisions: Mapping[str, Value], reqs: Sequence[Requirement]) -> Plan:
    metrics = dict(zip(METRIC_KEYS, view.metrics, strict=True))
    problems = list(view.reasons)
    meets = view.valid
    for r in reqs:
        value = view.success if r.metric == "success" else metrics.get(r.metric, math.inf)
        if r.metric == "success" and r.cmp == ">=":
            ok = success_meets(math.fsum(st.log_success for st in view.stages), r.bound)
        else:
            ok = r.holds(value)
        if not ok:
            meets = False
            problems.append(f"{r.metric} = {value:.6g} does not meet {r}")
    return Plan(
        dict(sorted(decisions.items())),
        view.evaluation,
        metrics,
        view.success,
        view.valid,
        meets,
        tuple(problems),
    )


def _dims_and_bounds(
    metric: str, reqs: Sequence[Requirement]
) -> tuple[list[int], dict[int, float], float]:
    dims: list[int] = []
    if metric != "success":
        dims.append(INDEX[metric])
    upper: dict[int, float] = {}
    min_success = 0.0
    for r in reqs:
        if r.metric == "success":
            if r.cmp == ">=":
                min_success = max(min_success, r.bound * (1 - SLACK))
            continue
        if r.metric in INDEX and r.cmp == "<=":
            i = INDEX[r.metric]
            upper[i] = min(upper.get(i, math.inf), r.bound * (1 + SLACK))
            if i not in dims:
                dims.append(i)
    if not dims:
        dims.append(INDEX["cost"])
    return dims, upper, min_success


def _rank(p: Point, sense: str, metric: str) -> tuple:
    if metric == "success":
        return (-p.log_success, p.metrics[INDEX["cost"]], p.order)
    if sense == "maximize":
        return (-p.metric(metric), -p.log_success, p.order)
    return (p.metric(metric), -p.log_success, p.order)


def _solve_once(
    solver: _Solver,
    states: list[ob.BlockState],
    base: dict[str, Value],
    sense: str,
    metric: str,
    reqs: Sequence[Requirement],
) -> tuple[Plan | None, list[Point], list[list[Point]]]:
    dims, upper, min_success = _dims_and_bounds(metric, reqs)
    raw = solver.points(states, base)
    sets = []
    for pts in raw:
        pts = [
            p
            for p in pts
            if p.success >= min_success and all(p.metrics[i] <= b for i, b in upper.items())
        ]
        sets.append(pareto(pts, dims))
    if solver.method == "cpsat":
        return _solve_cpsat(solver, sets, base, sense, metric, reqs, upper, min_success), [], raw
    merged = merge(sets, dims, upper, min_success)
    for p in sorted(merged, key=lambda q: _rank(q, sense, metric)):
        decisions = {**base, **dict(p.decisions)}
        plan = solver.plan(decisions, reqs)
        if plan.meets:
            return plan, merged, raw
    return None, merged, raw


def _solve_cpsat(
    solver: _Solver,
    sets: list[list[Point]],
    base: dict[str, Value],
    sense: str,
    metric: str,
    reqs: Sequence[Requirement],
    upper: dict[int, float],
    min_success: float,
) -> Plan | None:
    """The best plan by CP-SAT over the blocks' Pareto sets; a plan the full evaluation rejects
    is excluded and the model solved again (as the merge tries its next best point)."""
    from . import optimize_cpsat

    bounds = optimize_cpsat.Bounds(min_success, upper)
    rejected: list[tuple[int, ...]] = []
    while (choice := optimize_cpsat.solve(sets, (sense, metric), bounds, rejected)) is not None:
        p = optimize_cpsat.total(sets, choice)
        plan = solver.plan({**base, **dict(p.decisions)}, reqs)
        if plan.meets:
            return plan
        rejected.append(choice)
    return None


def _refine(
    self_notes: set[str],
    states: list[ob.BlockState],
    chosen: Mapping[str, Value],
    raw: list[list[Point]],
    sense: str,
    metric: str,
) -> bool:
    """Add candidates around the chosen value of every integer variable (and around every local
    minimum of the block's best objective per value); True when anything was added."""
    added = False
    for st, pts in zip(states, raw, strict=True):
        for var in st.vars:
            if not var.values or var.lo == var.hi:
                continue
            value = chosen.get(var.key)
            centres = [value] if isinstance(value, int) and value in var.values else []
            # The block's best objective at each value, among assignments at least as reliable
            # as the chosen one: a second local minimum means the objective is not unimodal.
            need = _block_success(st, chosen, pts)
            score: dict[int, float] = {}
            for p in pts:
                d = dict(p.decisions)
                v = d.get(var.key)
                if not isinstance(v, int) or p.success < need:
                    continue
                s = -p.log_success if metric == "success" else p.metric(metric)
                if sense == "maximize" and metric != "success":
                    s = -s
                score[v] = min(score.get(v, math.inf), s)
            # Refine around the best few local minima (ties: smaller value first); the chosen
            # value is always refined. Beyond them the candidate set stays as it is.
            minima = sorted(cand.local_minima(var.values, score), key=lambda v: (score[v], v))
            if len(minima) > 1 and var.key not in self_notes:
                self_notes.add(var.key)
            for m in minima[:LOCAL_MINIMA]:
                if m not in centres:
                    centres.append(m)
            new: set[int] = set()
            for c in centres:
                new.update(cand.around(var.values, c, var.lo, var.hi))
            if var.snap_ok and var.n is not None:
                new = set(cand.snapped(new, var.n, var.lo, var.hi))
            new -= set(var.values)
            if new:
                var.values = sorted(set(var.values) | new)
                added = True
    return added


def _block_success(st: ob.BlockState, chosen: Mapping[str, Value], pts: list[Point]) -> float:
    keys = {k for p in pts[:1] for k, _ in p.decisions}
    mine = tuple(sorted((k, chosen[k]) for k in keys if k in chosen))
    for p in pts:
        if p.decisions == mine:
            return p.success * (1 - 1e-12)
    return 0.0


def _solve(
    solver: _Solver,
    pins: Mapping[str, Value],
    sense: str,
    metric: str,
    reqs: Sequence[Requirement],
) -> tuple[Plan | None, list[ob.BlockState], dict[str, Value]]:
    states, base = solver.states(pins)
    plan = None
    for _ in range(MAX_REFINE_ROUNDS):
        plan, _merged, raw = _solve_once(solver, states, base, sense, metric, reqs)
        chosen = plan.decisions if plan is not None else base
        if plan is None and not any(len(v.values) > 1 for st in states for v in st.vars):
            break
        if not _refine(solver.multimodal, states, chosen, raw, sense, metric):
            break
    return plan, states, base


def _frontiers(
    solver: _Solver,
    states: list[ob.BlockState],
    base: dict[str, Value],
    metric: str,
    reqs: Sequence[Requirement],
) -> tuple[tuple[FrontierPoint, ...], tuple[FrontierPoint, ...]]:
    fm = INDEX[metric]
    other = [r for r in reqs if r.metric != "success"]
    _d, upper, _ms = _dims_and_bounds(metric, other)
    raw = solver.points(states, base)
    sets = [pareto(pts, [fm]) for pts in raw]
    vs_success = merge(sets, [fm], upper)
    _d, upper2, min_success = _dims_and_bounds(metric, reqs)
    lat = INDEX["latency"]
    sets2 = [pareto(pts, [fm, lat]) for pts in raw]
    both = merge(sets2, [fm, lat], upper2, min_success)
    # Project onto (metric, latency): the plans that meet the success target, Pareto in both.
    both = sorted(both, key=lambda p: (p.metrics[fm], p.metrics[lat], p.order))
    vs_latency: list[Point] = []
    best_lat = math.inf
    for p in both:
        if p.metrics[lat] < best_lat:
            vs_latency.append(p)
            best_lat = p.metrics[lat]
    # Plans that tie on both axes (ahead-by-1 is a single sample) would show twice: keep the
    # first in the stable order, so every point is strictly better in success than the last.
    vs_success = sorted(vs_success, key=lambda p: (p.metrics[fm], -p.success, p.order))
    strict: list[Point] = []
    for p in vs_success:
        if not strict or p.success > strict[-1].success:
            strict.append(p)
    return _thin(strict, base), _thin(vs_latency, base)


def _thin(points: list[Point], base: Mapping[str, Value]) -> tuple[FrontierPoint, ...]:
    """At most ``FRONTIER_POINTS`` points, evenly spread, always keeping both ends."""
    if len(points) > FRONTIER_POINTS:
        n = len(points) - 1
        idx = sorted({round(i * n / (FRONTIER_POINTS - 1)) for i in range(FRONTIER_POINTS)})
        points = [points[i] for i in idx]
    return tuple(
        FrontierPoint(
            dict(sorted({**base, **dict(p.decisions)}.items())),
            dict(zip(METRIC_KEYS, p.metrics, strict=True)),
            p.success,
        )
        for p in points
    )


def optimize(
    checked: Any,
    task_name: str | None = None,
    objective: str | None = None,
    extra_pins: Mapping[str, Any] | Sequence[str] | None = None,
    frontier: bool = True,
    baselines: bool = True,
    solver: str = "dp",
) -> OptimizeResult:
    """The optimum plan of ``task_name`` (the first task when None) in a checked spec.

    ``objective`` overrides the spec's (a metric name; ``success`` is maximized, every other
    metric minimized); ``extra_pins`` fixes decisions (``{"move.x": 1}`` or
    ``["move.x=1"]``). ``solver`` allocates across blocks: ``"dp"`` (the exact merge of the
    blocks' Pareto sets) or ``"cpsat"`` (a CP-SAT model over the same sets; the frontiers are
    merged either way). Raises ``SpecError`` for bad options; an infeasible spec is a result
    with ``feasible=False`` and the reasons in ``why``.
    """
    if solver not in ("dp", "cpsat"):
        raise ValueError(f"solver must be 'dp' or 'cpsat', not {solver!r}")
    task = select_task(checked.spec, task_name)
    space = build(checked, task.name)
    pins = {**space.pins, **parse_pins(space, extra_pins)}
    sense, metric = objective_of(task, objective)
    reqs = requirements_of(task, checked)
    state = _Solver(checked, task, space, solver)

    plan, states, base = _solve(state, pins, sense, metric, reqs)
    feasible = plan is not None
    why: tuple[str, ...] = ()
    if plan is None:
        from .optimize_infeasible import explain_infeasible

        relaxed = [r for r in reqs if r.metric != "success"]
        best, _st, _s = _solve(state, pins, "maximize", "success", relaxed)
        if best is None:
            best, _st, _s = _solve(state, pins, "maximize", "success", [])
        if best is not None:
            best = state.plan(best.decisions, reqs)
        else:
            # Nothing can run: show the pinned design as given, with its problems.
            from .cost import DecisionError

            try:
                best = state.plan(_s, reqs)
            except DecisionError as err:
                raise _error(f"cannot evaluate the pinned plan: {err}") from None
        why = explain_infeasible(state, pins, reqs, best)
        if relaxed and best is not None and best.valid:
            # Say whether the other bounds are what stands in the way of the target.
            free, _f, _b = _solve(state, pins, "maximize", "success", [])
            if free is not None and free.success > best.success + 1e-12:
                bounds = ", ".join(str(r) for r in relaxed)
                meets = all(r.holds(free.success) for r in reqs if r.metric == "success")
                verdict = (
                    "the target is reachable: those bounds stand in the way"
                    if meets
                    else "still short of the target"
                )
                why += (f"without {bounds}, success rises to {free.success:.6g}, {verdict}",)
        plan = best

    fm = metric if metric in INDEX and metric not in ("latency", "latency_calls") else "cost"
    fs: tuple[FrontierPoint, ...] = ()
    fl: tuple[FrontierPoint, ...] = ()
    if frontier:
        fs, fl = _frontiers(state, states, base, fm, reqs)

    results = []
    if baselines:
        for name, bpins in space.baselines:
            bplan, _s, _b = _solve(state, bpins, sense, metric, reqs)
            if bplan is None:
                cheapest, _s, bbase = _solve(state, bpins, "minimize", fm, [])
                # No valid completion at all: the pins with every other decision at its default.
                bplan = state.plan(cheapest.decisions if cheapest else bbase, reqs)
            results.append(BaselineResult(name, dict(bpins), bplan, _ratio(bplan, plan, metric)))

    return OptimizeResult(
        task.name,
        (sense, metric),
        reqs,
        feasible,
        plan,
        why,
        fs,
        fl,
        fm,
        tuple(results),
        tuple(state.notes)
        + tuple(
            f"{k}: the best objective per value is not unimodal (integer counts such as votes"
            f" make it saw-toothed); the candidates were refined around its {LOCAL_MINIMA}"
            " best local minima, not exhaustively"
            for k in sorted(state.multimodal)
        ),
        state.evaluator.calls,
        dict(sorted(pins.items())),
    )


def _ratio(base: Plan | None, plan: Plan | None, metric: str) -> float | None:
    if base is None or plan is None:
        return None
    b, p = base.value(metric), plan.value(metric)
    if p == 0 or math.isnan(b) or math.isnan(p):
        return None
    return b / p
