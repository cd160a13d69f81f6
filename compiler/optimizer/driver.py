"""The optimizer: the cheapest plan that meets the requirements, and the true optimum of the model.

Method (docs/explain.md, "How the optimum is found"):

1. Split the task's ops into blocks whose decisions interact (``aalp.plan.space``).
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
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from aalp import codes
from aalp.diagnostics import Diagnostic, SpecError
from aalp.front import expr as ex
from aalp.front.ir import ITEM_METRICS, LATENCY_METRICS, METRICS, NO_SPAN, Task
from aalp.model.repeat_choice import chosen
from aalp.optimizer import repeat as rp
from aalp.optimizer import repeat_part as rpart
from aalp.optimizer.frontier import latency_frontier, success_frontier, thin
from aalp.optimizer.gcpause import paused
from aalp.optimizer.pareto import INDEX, METRIC_KEYS, Point, merge
from aalp.optimizer.repeat_choose import choose_count
from aalp.optimizer.solve import (
    Outcome,
    Searches,
    Solver,
    dims_and_bounds,
    needs_latency,
    solve,
    solve_cpsat,
)
from aalp.optimizer.types import (
    BaselineResult,
    FrontierPoint,
    OptimizeResult,
    Requirement,
    Solution,
)
from aalp.optimizer.work import SearchCut
from aalp.plan.plan import DecisionError
from aalp.plan.space import Value, build, env_of, parse_pins, select_task

# The most reliable plan of an infeasible spec is searched with at least this many decisions.
INFEASIBLE_BUDGET_FLOOR = 20_000

__all__ = [
    "BaselineResult",
    "FrontierPoint",
    "OptimizeResult",
    "Requirement",
    "Solution",
    "objective_of",
    "optimize",
    "requirements_of",
]


def not_planned(task: Task) -> SpecError:
    """The refusal of a ``repeat STAGE K then vote`` the optimizer cannot plan: the cost model
    evaluates its plans (``aalp.model.repeat``), the search does not separate its vote."""
    r = task.repeats[0]
    return SpecError(
        [
            Diagnostic(
                "error",
                codes.REPEAT_NOT_PLANNED,
                f"task '{task.name}' repeats a stage that shares decisions with another stage"
                " (a reduce of its chunks, an op of both) or under a per-item requirement: the"
                " optimizer plans a repeated stage whose decisions are its own",
                r.span,
                "evaluate a given plan (aalp simulate --decisions) or drop the repeat",
            )
        ]
    )


def _error(message: str) -> SpecError:
    return SpecError([Diagnostic("error", codes.BAD_OPTION, message, NO_SPAN)])


def objective_of(task: Task, objective: str | None) -> tuple[str, str]:
    """``(sense, metric)``: ``--objective`` wins over the spec's; default minimize cost."""
    if objective is None:
        if task.objective is not None:
            return task.objective.sense, task.objective.metric
        return "minimize", "cost"
    metric = objective.strip()
    if metric not in METRICS:
        from aalp.suggest import did_you_mean

        raise _error(f"unknown objective '{metric}': {did_you_mean(metric, METRICS, 'metric')}")
    per_item = next((r.metric for r in task.requirements if r.metric in ITEM_METRICS), None)
    if metric == "success" and per_item is not None:
        raise _error(
            f"objective 'success' in a task that requires {per_item}: the optimizer holds a"
            " plan to one measure of reliability (minimize a cost under the per-item bound)"
        )
    return ("maximize" if metric == "success" else "minimize"), metric


def untimed_objective(spec: Any, task: Task) -> None:
    """``--objective seconds`` needs a speed on every model the task's ops may run on (E330,
    as in the spec: without one a call's seconds are unknown)."""
    speeds = {m.name: m.speed for m in spec.models}
    untimed = sorted({m for op in task.ops for m in op.models if m in speeds and not speeds[m]})
    if untimed:
        names = ", ".join(f"'{m}'" for m in untimed)
        message = (
            f"objective 'seconds': model {names} has no speed, so a call's seconds are unknown"
            " (give it 'speed prefill P tok/s decode D tok/s overhead O ms')"
        )
        raise SpecError([Diagnostic("error", codes.UNTIMED_MODEL, message, NO_SPAN)])


def requirements_of(task: Task, checked: Any) -> tuple[Requirement, ...]:
    from aalp.front.numbers import exact
    from aalp.model.items import accuracy_floor
    from aalp.plan.context import build_context

    env = env_of(checked)
    out = []
    for r in task.requirements:
        try:
            bound = ex.evaluate(r.bound, env)
            precise = exact(r.bound, checked.env)
        except ex.EvalError as err:
            raise _error(f"cannot evaluate the bound of 'require {r.metric}': {err}") from None
        floor = None
        if r.metric in ("accuracy", "errors"):
            ctx = build_context(checked, task)
            n = ctx.count(ctx.items) if ctx.items is not None else 0
            floor = accuracy_floor(r.metric, precise, n)
        out.append(Requirement(r.metric, r.cmp, bound, precise, floor))
    return tuple(out)


def _frontiers(
    state: Solver, found: Searches, metric: str, reqs: Sequence[Requirement], latency: bool
) -> tuple[tuple[FrontierPoint, ...], tuple[FrontierPoint, ...]]:
    """The Pareto frontiers over the plans evaluated, at the points shown (``aalp.optimizer.
    frontier``): the metric against success under the other bounds, and against latency among
    the plans that meet every requirement.

    When the search did not compute latency (it decides nothing), the latency frontier is
    drawn from the success frontier's plans that meet the success target, each evaluated in
    full."""
    fm = INDEX[metric]
    dims, upper, _ms = dims_and_bounds(metric, [r for r in reqs if not r.reliability])
    _d, upper2, min_success = dims_and_bounds(metric, reqs)
    target = math.log(min_success) if min_success > 0 else -math.inf
    also = [target] if min_success > 0 else []
    vs_success = success_frontier(found.real_points(dims), dims, upper, also)
    if latency:
        lat = INDEX["latency"]
        both = merge(found.real_points([fm, lat]), [fm, lat], upper2, min_success)
    else:
        both = []
        for p in vs_success:
            if p.log_success < target:
                continue
            full = state.plan({**found.base, **dict(p.decisions)}, reqs)
            if full.meets:
                metrics = tuple(full.metrics[k] for k in METRIC_KEYS)
                both.append(Point(p.decisions, metrics, p.log_success, p.order))
    return thin(vs_success, found.base), thin(latency_frontier(both, fm), found.base)


def optimize(
    checked: Any,
    task_name: str | None = None,
    objective: str | None = None,
    extra_pins: Mapping[str, Any] | Sequence[str] | None = None,
    frontier: bool = True,
    baselines: bool = True,
    solver: str = "dp",
    *,
    deadline: float | None = None,
    progress: Callable[[str], None] | None = None,
    explain_infeasible: bool = True,
    max_work: int | None = None,
) -> OptimizeResult:
    """The optimum plan of ``task_name`` (the first task when None) in a checked spec.

    ``objective`` overrides the spec's (a metric name; ``success`` is maximized, every other
    metric minimized); ``extra_pins`` fixes decisions (``{"move.x": 1}`` or
    ``["move.x=1"]``). ``solver`` allocates across blocks: ``"dp"`` (the exact merge of the
    blocks' Pareto sets) or ``"cpsat"`` (a CP-SAT model over the same final sets; the
    frontiers are merged either way). ``deadline`` (a ``time.monotonic()`` value) stops the
    search early with the best plan found so far, said so in ``notes``; ``progress`` is called
    with a line of text now and then; ``explain_infeasible=False`` skips the search for the
    most reliable plan of an infeasible spec (the result then has no plan); ``max_work``
    stops the whole optimization once it has done that many evaluations (exact evaluations
    and bounds, the count of ``evaluations``): each search then ends as at a deadline and the
    result is not proven (a cut outside any search raises ``aalp.optimizer.work.SearchCut``).
    Raises
    ``SpecError`` for bad options; an infeasible spec is a result with ``feasible=False`` and
    the reasons in ``why``. The cyclic garbage collector is paused meanwhile
    (``aalp.optimizer.gcpause``).
    """
    if solver not in ("dp", "cpsat"):
        raise ValueError(f"solver must be 'dp' or 'cpsat', not {solver!r}")
    with paused():
        return _optimize(
            checked,
            task_name,
            objective,
            extra_pins,
            frontier,
            baselines,
            solver,
            deadline,
            progress,
            explain_infeasible,
            max_work,
        )


def _repeated(
    checked: Any, task: Task, options: tuple, explain_infeasible: bool
) -> OptimizeResult | None:
    """The result of a task whose repeat is solved by another optimization: a chosen K
    (every odd K, ``aalp.optimizer.repeat_choose``) or a repeat of the whole pipeline (one
    run under the bounds mapped back, ``aalp.optimizer.repeat``); None for any other task.
    ``options`` are ``_optimize``'s from ``objective`` to ``progress``."""
    objective, extra_pins, _frontier, _baselines, solver, deadline, progress = options
    if chosen(task):

        def run(fixed: Any, explain: bool) -> OptimizeResult:
            return _optimize(fixed, task.name, *options, explain)

        sense, metric = objective_of(task, objective)
        return choose_count(checked, task, run, sense, metric, explain_infeasible)
    whole = rp.whole_repeat(checked, task) if task.repeats else None
    if whole is None:
        return None
    k, parallel = whole
    one = rp.once(checked, task, k, parallel)
    fixed = (objective, extra_pins, False, False, solver, deadline, progress)
    result = _optimize(one, task.name, *fixed, explain_infeasible)
    return rp.repeated_result(checked, task, result, k, requirements_of(task, checked))


def _optimize(
    checked: Any,
    task_name: str | None,
    objective: str | None,
    extra_pins: Mapping[str, Any] | Sequence[str] | None,
    frontier: bool,
    baselines: bool,
    solver: str,
    deadline: float | None,
    progress: Callable[[str], None] | None,
    explain_infeasible: bool,
    max_work: int | None = None,
) -> OptimizeResult:
    """``optimize``, its options checked."""
    task = select_task(checked.spec, task_name)
    options = (objective, extra_pins, frontier, baselines, solver, deadline, progress)
    repeated = _repeated(checked, task, options, explain_infeasible)
    if repeated is not None:
        return repeated
    space = build(checked, task.name)
    folds = rpart.task_folds(checked, task, space) if task.repeats else ()
    if folds is None:
        raise not_planned(task)
    frontier, baselines = (False, False) if folds else (frontier, baselines)
    pins = {**space.pins, **parse_pins(space, extra_pins, checked.env)}
    sense, metric = objective_of(task, objective)
    if metric == "seconds":
        untimed_objective(checked.spec, task)
    reqs = requirements_of(task, checked)
    state = Solver(checked, task, space, solver)
    state.folds = folds
    if folds:
        state.notes.append(rpart.fold_note(task, folds))
    state.deadline = deadline
    state.progress = progress
    state.counter.ceiling = max_work

    main = solve(state, pins, sense, metric, reqs)
    plan = main.plan
    if solver == "cpsat" and plan is not None:
        dims, _u, _m = dims_and_bounds(metric, reqs)
        sets = rpart.fold_sets(main.searches.real_points(dims), folds, dims)
        plan = solve_cpsat(state, sets, main.searches.base, sense, metric, reqs)
    feasible = plan is not None
    why: tuple[str, ...] = ()
    if plan is None and explain_infeasible:
        plan, why = _fallback_plan(state, pins, reqs, main)
    elif plan is None:
        why = ("no plan meets the requirements",)
    fm = metric if metric in INDEX and metric not in LATENCY_METRICS else "cost"
    fs: tuple[FrontierPoint, ...] = ()
    fl: tuple[FrontierPoint, ...] = ()
    if frontier:
        fs, fl = _bounded_frontiers(state, main, fm, metric, reqs, deadline)
    results = _baseline_results(state, sense, metric, fm, reqs, plan) if baselines else []
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
        tuple(state.notes + _search_notes(state, main, metric)),
        state.counter.n,
        dict(sorted(pins.items())),
        main.proven and not state.stopped,
    )


def _fallback_plan(
    state: Solver, pins: Mapping[str, Any], reqs: Sequence[Requirement], main: Outcome
) -> tuple[Solution | None, tuple[str, ...]]:
    """The plan shown when none meets the requirements, and why none does: the search's own
    best guess when its time ran out, else the most reliable plan and the reasons."""
    if main.proven:
        return _infeasible(state, pins, reqs, main)
    why = (
        "the search was stopped by its time limit before it found a plan that meets the"
        " requirements (give it more time)",
    )
    try:
        return state.plan(main.searches.base, reqs), why
    except DecisionError:
        return None, why


def _bounded_frontiers(
    state: Solver,
    main: Outcome,
    fm: str,
    metric: str,
    reqs: Sequence[Requirement],
    deadline: float | None,
) -> tuple[tuple[FrontierPoint, ...], tuple[FrontierPoint, ...]]:
    """The frontiers of ``fm`` against success and latency, or none (with a note) when they
    would cost more than the search or pass the deadline."""
    # The frontiers re-read the main search's shapes in other metrics: as much work again
    # as the search at most (and the deadline), else they are left out with a note.
    cap = state.counter.n + max(state.counter.n, INFEASIBLE_BUDGET_FLOOR)
    try:
        with state.counter.limits(cap, deadline):
            return _frontiers(state, main.searches, fm, reqs, needs_latency(metric, reqs))
    except SearchCut:
        state.notes.append(
            "the frontiers were left out: drawing them would cost more than the search"
            " itself (or the time limit passed)"
        )
        return (), ()


def _baseline_results(
    state: Solver,
    sense: str,
    metric: str,
    fm: str,
    reqs: Sequence[Requirement],
    plan: Solution | None,
) -> list[BaselineResult]:
    """Every baseline of the spec: its pins completed optimally, else as cheaply as
    possible, and its ratio to ``plan`` in ``metric``."""
    results = []
    for name, bpins in state.space.baselines:
        bplan = solve(state, bpins, sense, metric, reqs).plan
        if bplan is None:
            cheapest = solve(state, bpins, "minimize", fm, [])
            # No valid completion at all: the pins with every other decision at its default.
            bplan = state.plan(
                cheapest.plan.decisions if cheapest.plan else cheapest.searches.base, reqs
            )
        results.append(BaselineResult(name, dict(bpins), bplan, _ratio(bplan, plan, metric)))
    return results


def _search_notes(state: Solver, main: Outcome, metric: str) -> list[str]:
    """What the notes say of a search that its time limit (or ``max_work``) cut short."""
    limit = "time limit" if state.counter.ceiling is None else "time or work limit"
    if not main.proven and main.plan is not None:
        bound = "" if main.gap is None else f"; no plan can have a {metric} below {main.gap:.6g}"
        return [
            f"the search was stopped by its {limit}: the plan is the best found, not proven"
            f" optimal{bound}"
        ]
    if state.stopped:
        return [f"the {limit} cut the baselines' or the frontier's search short"]
    return []


def _infeasible(
    state: Solver, pins: Mapping[str, Value], reqs: Sequence[Requirement], main: Outcome
) -> tuple[Solution, tuple[str, ...]]:
    """The plan of best achievable success and the reasons no plan meets the requirements.

    The main search has proven that no plan meets them; the most reliable plan is searched
    with a budget of several times its evaluations, and when that is spent the report says
    how reliable a plan could be at most."""
    from aalp.optimizer.infeasible import explain_infeasible, success_text

    budget = max(INFEASIBLE_BUDGET_FLOOR, state.counter.n)
    relaxed = [r for r in reqs if not r.reliability]
    within = solve(state, pins, "maximize", "success", relaxed, budget=budget)
    free = solve(state, pins, "maximize", "success", [], budget=budget) if relaxed else within
    best = within.plan if within.plan is not None else (free.plan if free else None)
    if best is not None:
        best = state.plan(best.decisions, reqs)
    else:
        # Nothing can run: show the pinned design as given, with its problems.
        try:
            best = state.plan(main.searches.base, reqs)
        except DecisionError as err:
            raise _error(f"cannot evaluate the pinned plan: {err}") from None
    why = explain_infeasible(state, pins, reqs, best, within.proven)
    if not within.proven and within.log_gap is not None and best.valid:
        why += (
            f"(the most reliable plan was searched within a budget: no plan's"
            f" {state.ctx.measure} exceeds"
            f" {success_text(within.log_gap)})",
        )
    # Say whether the other bounds are what stands in the way of the target.
    if (
        relaxed
        and best.valid
        and free is not None
        and free.plan is not None
        and free.plan.value(state.ctx.measure) > best.value(state.ctx.measure) + 1e-12
    ):
        bounds = ", ".join(str(r) for r in relaxed)
        meets = all(r.met(free.plan.evaluation) for r in reqs if r.reliability)
        verdict = (
            "the target is reachable: those bounds stand in the way"
            if meets
            else "still short of the target"
        )
        name = state.ctx.measure
        rises = free.plan.value(name)
        why += (f"without {bounds}, {name} rises to {rises:.6g}, {verdict}",)
    return best, why


def _ratio(base: Solution | None, plan: Solution | None, metric: str) -> float | None:
    if base is None or plan is None:
        return None
    b, p = base.value(metric), plan.value(metric)
    if p == 0 or math.isnan(b) or math.isnan(p):
        return None
    return b / p
