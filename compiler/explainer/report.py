"""``explain``: the optimized plan as a report (``aalp.explainer.schema``; docs/explain.md).

``report`` turns an ``OptimizeResult`` into a ``Report``: the plan's stages and calls, its
totals beside every baseline, its closed form, the growth of its objective in the task's size,
the frontiers, assumptions and notes, every number JSON-safe. ``schema.to_json`` writes it as
JSON and ``render.render_text`` as text.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from aalp.explainer.growth import Growth, growth_series, joint_growth
from aalp.explainer.schema import (
    Baseline,
    Call,
    Frontier,
    GrowthFit,
    Number,
    Objective,
    Point,
    Report,
    Requirement,
    Stage,
)
from aalp.optimizer.driver import BaselineResult, FrontierPoint, OptimizeResult, Solution
from aalp.optimizer.pareto import METRIC_KEYS

SCHEMA_VERSION = 1
GROWTH_NOTE = (
    "growth not measured: fewer than 3 sizes of the ladder were re-optimized (no"
    " feasible plan there, or the fit's budget, as many evaluations as the"
    " optimization, was spent)"
)


def report(
    checked: Any,
    result: OptimizeResult,
    growth: bool = True,
    objective: str | None = None,
    extra_pins: Any = None,
    deadline: float | None = None,
) -> Report:
    """The explain report (schema in docs/explain.md); ``deadline`` (a ``time.monotonic()``
    value) cuts the growth fit short; without ``growth`` there is no fit at all."""
    metric = result.objective[1]
    plan = result.plan
    ev = plan.evaluation if plan is not None else None
    measure = "accuracy" if any(r.floor is not None for r in result.requirements) else "success"
    g_plan, g_base = (None, {})
    if growth and result.feasible:
        g_plan, g_base = growth_series(checked, result, objective, extra_pins, deadline=deadline)
    return Report(
        schema=SCHEMA_VERSION,
        task=result.task,
        feasible=result.feasible,
        objective=Objective(*result.objective, _num(plan.value(metric)) if plan else None),
        requirements=_requirements(result),
        metrics=_metrics(plan.metrics) if plan else None,
        success=_num(plan.success) if plan else None,
        decisions=_decisions(plan.decisions) if plan else {},
        stages=_plan_stages(plan, frozenset(t.name for t in checked.spec.tools)) if plan else (),
        closed_form=_closed_form(checked, result),
        closed_form_asymptotic=_closed_form(checked, result, asymptotic=True),
        growth=_growth(g_plan),
        growth_all=_joint_growth(checked, result, plan.decisions) if growth and plan else None,
        growth_note=GROWTH_NOTE if growth and result.feasible and g_plan is None else None,
        baselines=_baselines(checked, result, g_base, growth),
        frontier=Frontier(
            metric=result.frontier_metric,
            vs_success=_frontier(result.frontier_success, result.frontier_metric, measure),
            vs_latency=_frontier(result.frontier_latency, result.frontier_metric, measure),
            measure=measure,
        ),
        assumptions=tuple(plan.evaluation.assumptions) if plan else (),
        notes=tuple(result.notes),
        why=tuple(result.why),
        pins=_decisions(result.pins),
        items=ev.items if ev is not None else None,
        item_count=_num(ev.item_count) if ev is not None and ev.items else None,
        accuracy=_num(ev.accuracy) if ev is not None and ev.items else None,
        errors=_num(ev.errors) if ev is not None and ev.items else None,
        reliability_note=reliability_note(result),
    )


# ---------------------------------------------------------------------------------------------
# Numbers
# ---------------------------------------------------------------------------------------------


def _num(v: Any) -> Number:
    """A JSON-safe number: floats rounded to 12 significant digits, inf/nan as strings.

    >>> _num(0.1 + 0.2), _num(3.0), _num(float("inf")), _num("ahead_by")
    (0.3, 3, 'inf', 'ahead_by')
    """
    if isinstance(v, bool) or v is None or isinstance(v, str):
        return v
    if isinstance(v, int):
        return v
    f = float(v)
    if math.isnan(f):
        return "nan"
    if math.isinf(f):
        return "inf" if f > 0 else "-inf"
    if f == int(f) and abs(f) < 2**53:
        return int(f)
    return float(f"{f:.12g}")


def _metrics(m: Mapping[str, float]) -> dict[str, Number]:
    # seconds are NaN when a model of the plan has no speed: unknown, null in JSON
    unknown = math.isnan(m["seconds"])
    return {k: None if k == "seconds" and unknown else _num(m[k]) for k in METRIC_KEYS}


def _decisions(d: Mapping[str, Any]) -> dict[str, Number]:
    return {k: _num(v) for k, v in d.items()}


# ---------------------------------------------------------------------------------------------
# The parts of the report
# ---------------------------------------------------------------------------------------------


def _requirements(result: OptimizeResult) -> tuple[Requirement, ...]:
    plan = result.plan
    return tuple(
        Requirement(
            metric=r.metric,
            cmp=r.cmp,
            bound=_num(r.bound),
            value=_num(plan.value(r.metric)) if plan else None,
            ok=bool(plan is not None and r.met(plan.evaluation)),
        )
        for r in result.requirements
    )


def _plan_stages(plan: Solution, tools: frozenset[str] = frozenset()) -> tuple[Stage, ...]:
    """The plan's stages that make calls (combines and routes are bookkeeping)."""
    return tuple(
        Stage(
            index=st.index,
            kind=st.kind,
            ops=tuple(st.ops),
            over=st.over,
            chunks=st.chunks,
            x=st.x,
            history=st.history,
            fanin=st.fanin,
            levels=tuple(tuple(lv) for lv in st.levels),
            metrics=_metrics(st.metrics.as_dict()),
            success=_num(st.success),
            calls=tuple(_call(o, o.model in tools) for o in st.op_evals),
            accuracy=_num(math.exp(st.log_accuracy)) if plan.evaluation.items else None,
            within=st.within,
            runs=st.runs,
            repeat=st.repeat,
        )
        for st in plan.evaluation.stages
        if st.kind not in ("combine", "route")
    )


def _call(o: Any, tool: bool = False) -> Call:
    """One ``OpEval`` row of a stage (``tool``: its op runs on a tool)."""
    return Call(
        op=o.op,
        role=o.role,
        model=o.model,
        booster=o.booster,
        votes=o.votes,
        retries=_num(o.retries) if o.retries is not None else None,
        check=o.check,
        x=o.x,
        level=o.level,
        reads=_num(o.reads),
        writes=_num(o.writes),
        history_reads=_num(o.history_reads),
        decisions=o.decisions,
        samples_per_decision=_num(o.samples),
        success_per_decision=_num(o.success),
        metrics=_metrics(o.metrics.as_dict()),
        cost_share=_num(o.cost_share),
        tool=tool,
    )


def _growth(g: Growth | None) -> GrowthFit | None:
    if g is None:
        return None
    return GrowthFit(
        variable=g.variable,
        metric=g.metric,
        cls=g.pretty(),
        claimed=g.claimed,
        fitted_slope=_num(round(g.slope, 4)),
        ratio_slope=_num(round(g.ratio_slope, 4)),
        confirmed=g.confirmed,
        sizes=tuple(_num(s) for s in g.sizes),
        values=tuple(_num(v) for v in g.values),
    )


def _joint_growth(checked: Any, result: OptimizeResult, decisions: Any) -> str | None:
    """The closed form's class in every size parameter (of cost when maximizing success)."""
    metric = result.objective[1]
    return joint_growth(checked, result.task, decisions, metric if metric != "success" else "cost")


def _baselines(
    checked: Any, result: OptimizeResult, growths: Mapping[str, Growth], growth: bool
) -> tuple[Baseline, ...]:
    """Every baseline of the task beside its measured growth (``growths``, by name)."""
    from aalp.model.symbolic import with_pins  # a baseline's pins stay formulas: x = s stays s

    task_ir = next(t for t in checked.spec.tasks if t.name == result.task)
    specs = {s.name: s for s in task_ir.baselines}  # a result optimized without baselines has none
    out = []
    for b in result.baselines:
        spec_b = specs[b.name]
        joint = None
        if growth and b.plan is not None:
            joint = _joint_growth(checked, result, with_pins(b.plan.decisions, spec_b.pins))
        out.append(_baseline(b, growths.get(b.name), joint))
    return tuple(out)


def _baseline(b: BaselineResult, growth: Growth | None, growth_all: str | None) -> Baseline:
    plan = b.plan
    return Baseline(
        name=b.name,
        pins=_decisions(b.pins),
        feasible=bool(plan is not None and plan.meets),
        metrics=_metrics(plan.metrics) if plan else None,
        success=_num(plan.success) if plan else None,
        ratio=_num(b.ratio) if b.ratio is not None else None,
        decisions=_decisions(plan.decisions) if plan else None,
        problems=tuple(plan.problems) if plan else (),
        growth=_growth(growth),
        growth_all=growth_all,
        accuracy=_num(plan.evaluation.accuracy) if plan and plan.evaluation.items else None,
        errors=_num(plan.evaluation.errors) if plan and plan.evaluation.items else None,
    )


def _frontier(
    points: tuple[FrontierPoint, ...], metric: str, measure: str = "success"
) -> tuple[Point, ...]:
    return tuple(
        Point(
            metric=metric,
            value=_num(p.metrics[metric]),
            success=_num(p.success),
            latency=_num(p.metrics["latency"]),
            decisions=_decisions(p.decisions),
            measure=measure,
        )
        for p in points
    )


def reliability_note(result: OptimizeResult) -> str | None:
    """Why a bound on accuracy or errors is not a bound on success (model.md §3, items): what
    each asks of one item, and the plan's success beside its accuracy."""
    req = next((r for r in result.requirements if r.floor is not None), None)
    plan = result.plan
    if req is None or plan is None or not plan.evaluation.items:
        return None
    ev = plan.evaluation
    n = float(ev.item_count or 0)
    floor = float(req.floor)
    per_item = 1.0 - floor
    # success >= t over n independent items: each fails at most -ln(t)/n (about (1 - t)/n)
    whole = -math.log(floor) / n if n and floor > 0 else 0.0
    failure = -math.expm1(ev.log_accuracy)
    return (
        f"{req.metric} {req.cmp} {req.bound:.10g} counts the {n:,.0f} items of '{ev.items}':"
        " it allows a failure of"
        f" {per_item:.3g} per item ({per_item * n:,.4g} expected errors); 'success >="
        f" {floor:.10g}' would ask every item to be right at once, a failure of"
        f" {whole:.3g} per item. The plan fails {failure:.3g} of the items"
        f" ({ev.errors:,.4g} expected errors) and succeeds on all of them with probability"
        f" {plan.success:.3g}."
    )


def _closed_form(checked: Any, result: OptimizeResult, asymptotic: bool = False) -> str | None:
    """The plan's objective as a closed form in the size parameters.

    With ``asymptotic``, the decisions that grow with the size (ahead-by-k's k = k_min(s)) are
    written as functions of it, so the form holds at every size, not just the current one.
    """
    if result.plan is None:
        return None
    metric = result.objective[1]
    try:
        from aalp.model import symbolic

        expr = symbolic.closed_form(
            checked, result.task, result.plan.decisions, metric, asymptotic=asymptotic
        )
    except Exception:  # a plan the symbolic module cannot express: leave it out
        return None
    if expr is None:
        return None
    import sympy

    # Exact rationals of prices and logs of probabilities are unreadable: show 4 significant
    # digits then; short exact forms (small integers) stay exact.
    long_numbers = any(abs(a.p) > 10**6 or a.q > 10**4 for a in expr.atoms(sympy.Rational)) or any(
        not f.free_symbols for f in expr.atoms(sympy.log)
    )
    if not long_numbers:
        return str(expr)
    try:
        return str(expr.evalf(4))
    except Exception:  # sympy cannot always evaluate a symbolic sum over tree levels numerically
        return str(expr)
