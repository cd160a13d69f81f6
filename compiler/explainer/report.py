"""``explain``: the optimized plan as a report, in JSON (documented in docs/explain.md) and text.

``report`` turns an ``OptimizeResult`` into a plain dict (the JSON output, stable key order and
byte-identical for the same input); ``render_text`` prints that dict as a rich tree and tables
readable in 80 columns (plain text when piped).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Mapping
from typing import Any

from aalp.diagnostics import SpecError
from aalp.explainer.growth import Growth, ladder, resized, size_variable, theta
from aalp.optimizer.driver import (
    BaselineResult,
    FrontierPoint,
    OptimizeResult,
    Solution,
    optimize,
)
from aalp.optimizer.pareto import METRIC_KEYS
from aalp.plan.plan import booster_of, booster_text

SCHEMA_VERSION = 1
# The growth fit may evaluate as many decisions as the optimization it explains, and at least
# this many (a tiny optimization still deserves a fit).
GROWTH_BUDGET_FLOOR = 2000


def _num(v: Any) -> Any:
    """A JSON-safe number: floats rounded to 12 significant digits, inf/nan as strings."""
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


def _metrics(m: Mapping[str, float]) -> dict[str, Any]:
    return {k: _num(m[k]) for k in METRIC_KEYS}


def _plan_stages(plan: Solution) -> list[dict[str, Any]]:
    out = []
    for st in plan.evaluation.stages:
        if st.kind in ("combine", "route"):
            continue
        ops = []
        for o in st.op_evals:
            ops.append(
                {
                    "op": o.op,
                    "role": o.role,
                    "model": o.model,
                    "booster": o.booster,
                    "votes": o.votes,
                    "retries": _num(o.retries) if o.retries is not None else None,
                    "check": o.check,
                    "x": o.x,
                    "level": o.level,
                    "reads": _num(o.reads),
                    "writes": _num(o.writes),
                    "history_reads": _num(o.history_reads),
                    "decisions": o.decisions,
                    "samples_per_decision": _num(o.samples),
                    "success_per_decision": _num(o.success),
                    "metrics": _metrics(o.metrics.as_dict()),
                    "cost_share": _num(o.cost_share),
                }
            )
        out.append(
            {
                "index": st.index,
                "kind": st.kind,
                "ops": list(st.ops),
                "over": st.over,
                "chunks": st.chunks,
                "x": st.x,
                "history": st.history,
                "fanin": st.fanin,
                "levels": [list(lv) for lv in st.levels],
                "metrics": _metrics(st.metrics.as_dict()),
                "success": _num(st.success),
                "calls": ops,
            }
        )
    return out


def _growth(g: Growth | None) -> dict[str, Any] | None:
    if g is None:
        return None
    return {
        "variable": g.variable,
        "metric": g.metric,
        "class": g.pretty(),
        "claimed": g.claimed,
        "fitted_slope": _num(round(g.slope, 4)),
        "ratio_slope": _num(round(g.ratio_slope, 4)),
        "confirmed": g.confirmed,
        "sizes": [_num(s) for s in g.sizes],
        "values": [_num(v) for v in g.values],
    }


def _frontier(points: tuple[FrontierPoint, ...], metric: str) -> list[dict[str, Any]]:
    return [
        {
            metric: _num(p.metrics[metric]),
            "success": _num(p.success),
            "latency": _num(p.metrics["latency"]),
            "decisions": {k: _num(v) for k, v in p.decisions.items()},
        }
        for p in points
    ]


def _baseline(b: BaselineResult, metric: str, growth: Growth | None) -> dict[str, Any]:
    plan = b.plan
    return {
        "name": b.name,
        "pins": {k: _num(v) for k, v in b.pins.items()},
        "feasible": bool(plan is not None and plan.meets),
        "metrics": _metrics(plan.metrics) if plan else None,
        "success": _num(plan.success) if plan else None,
        "ratio": _num(b.ratio) if b.ratio is not None else None,
        "decisions": {k: _num(v) for k, v in plan.decisions.items()} if plan else None,
        "problems": list(plan.problems) if plan else [],
        "growth": _growth(growth),
    }


def _fixed_plan_value(checked: Any, task: str, decisions: Any, metric: str) -> float | None:
    """The metric of ``decisions`` evaluated on a resized spec (None if it cannot run there)."""
    from aalp.model.cost import evaluate

    try:
        ev = evaluate(checked, task, decisions)
    except Exception:  # e.g. a granularity larger than this size's data
        return None
    value = ev.value(metric)
    return value if math.isfinite(value) else None


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
    is climbed from its smallest size and stops when the budget is spent."""
    from aalp.explainer.growth import classify, size_parameter

    if budget is None:
        budget = max(result.evaluations, GROWTH_BUDGET_FLOOR)
    spent = 0
    task = next(t for t in checked.spec.tasks if t.name == result.task)
    var = size_variable(task)
    if var is None or var not in checked.env:
        return None, {}
    shown = size_parameter(checked, task, var) or var
    metric = result.objective[1] if result.objective[1] != "success" else "cost"
    n0 = float(checked.env[var])
    plan_pts: list[tuple[float, float]] = []
    base_pts: dict[str, list[tuple[float, float]]] = {b.name: [] for b in result.baselines}
    for n in ladder(n0):
        if spent >= budget or (deadline is not None and time.monotonic() > deadline):
            break
        sized = resized(checked, var, n, task)
        if sized is None:
            continue
        try:
            r = optimize(
                sized, result.task, objective, extra_pins, frontier=False, deadline=deadline
            )
        except SpecError:  # e.g. a pinned x larger than this size's data: skip the size
            continue
        if not r.proven:
            break  # the deadline passed during this size: its optimum is not known
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

    def fit(pts: list[tuple[float, float]], decisions: Any) -> Growth | None:
        pts = [(x, y) for x, y in pts if y > 0 and math.isfinite(y)]
        if len(pts) < 3:
            return None
        g = classify([p[0] for p in pts], [p[1] for p in pts], shown, metric)
        claimed = _claimed(checked, result.task, decisions, metric, shown)
        if claimed is None:
            return g
        return confirm(g, claimed)

    from aalp.model.symbolic import with_pins  # a baseline's pins stay formulas: x = k stays k

    plan_g = fit(plan_pts, result.plan.decisions if result.plan else None)
    bases = {}
    spec_pins = {b.name: b.pins for b in task.baselines}
    for b in result.baselines:
        decisions = with_pins(b.plan.decisions, spec_pins[b.name]) if b.plan else None
        g = fit(base_pts[b.name], decisions)
        if g is not None:
            bases[b.name] = g
    return plan_g, bases


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
    import dataclasses

    from aalp.explainer.growth import TOLERANCE, slope

    f = _class_function(claimed, g.variable)
    if f is None:
        return dataclasses.replace(g, claimed=claimed)
    try:
        ratios = [y / f(x) for x, y in zip(g.sizes, g.values, strict=True)]
        rs = slope(list(g.sizes), ratios)
    except (ValueError, ZeroDivisionError, OverflowError):
        return dataclasses.replace(g, claimed=claimed)
    return dataclasses.replace(g, claimed=claimed, ratio_slope=rs, confirmed=abs(rs) <= TOLERANCE)


def _class_function(claimed: str, var: str) -> Any:
    """``Θ(s·log s)`` as a function of s (None for forms with other symbols)."""
    import re

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


def report(
    checked: Any,
    result: OptimizeResult,
    growth: bool = True,
    objective: str | None = None,
    extra_pins: Any = None,
    deadline: float | None = None,
) -> dict[str, Any]:
    """The explain report as a JSON-ready dict (schema in docs/explain.md); ``deadline`` (a
    ``time.monotonic()`` value) cuts the growth fit short."""
    sense, metric = result.objective
    size_metric = metric if metric != "success" else "cost"
    task_ir = next(t for t in checked.spec.tasks if t.name == result.task)
    from aalp.model.symbolic import with_pins  # a baseline's pins stay formulas: x = s stays s

    plan = result.plan
    g_plan, g_base = (None, {})
    if growth and result.feasible:
        g_plan, g_base = growth_series(checked, result, objective, extra_pins, deadline=deadline)
    out: dict[str, Any] = {
        "schema": SCHEMA_VERSION,
        "task": result.task,
        "feasible": result.feasible,
        "objective": {
            "sense": sense,
            "metric": metric,
            "value": _num(plan.value(metric)) if plan else None,
        },
        "requirements": [
            {
                "metric": r.metric,
                "cmp": r.cmp,
                "bound": _num(r.bound),
                "value": _num(plan.value(r.metric)) if plan else None,
                "ok": bool(plan is not None and r.holds(plan.value(r.metric))),
            }
            for r in result.requirements
        ],
        "metrics": _metrics(plan.metrics) if plan else None,
        "success": _num(plan.success) if plan else None,
        "decisions": {k: _num(v) for k, v in plan.decisions.items()} if plan else {},
        "stages": _plan_stages(plan) if plan else [],
        "closed_form": _closed_form(checked, result),
        "closed_form_asymptotic": _closed_form(checked, result, asymptotic=True),
        "growth": _growth(g_plan),
        "growth_all": (
            joint_growth(checked, result.task, plan.decisions, size_metric)
            if growth and plan
            else None
        ),
        "growth_note": (
            "growth not measured: fewer than 3 sizes of the ladder were re-optimized (no"
            " feasible plan there, or the fit's budget, as many evaluations as the"
            " optimization, was spent)"
            if growth and result.feasible and g_plan is None
            else None
        ),
        "baselines": [
            {
                **_baseline(b, metric, g_base.get(b.name)),
                "growth_all": (
                    joint_growth(
                        checked, result.task, with_pins(b.plan.decisions, spec_b.pins), size_metric
                    )
                    if growth and b.plan is not None
                    else None
                ),
            }
            for b, spec_b in _with_specs(result.baselines, task_ir.baselines)
        ],
        "frontier": {
            "metric": result.frontier_metric,
            "vs_success": _frontier(result.frontier_success, result.frontier_metric),
            "vs_latency": _frontier(result.frontier_latency, result.frontier_metric),
        },
        "assumptions": list(plan.evaluation.assumptions) if plan else [],
        "notes": list(result.notes),
        "why": list(result.why),
        "pins": {k: _num(v) for k, v in result.pins.items()},
    }
    return out


def to_json(rep: Mapping[str, Any]) -> str:
    """The report as JSON text (stable: same input, same bytes)."""
    return json.dumps(rep, indent=2, ensure_ascii=False) + "\n"


# ---------------------------------------------------------------------------------------------
# Text
# ---------------------------------------------------------------------------------------------


def fmt(v: Any) -> str:
    """A number for people: integers grouped, others to 4 significant digits."""
    if v is None:
        return "-"
    if isinstance(v, str):
        return v
    if isinstance(v, bool):
        return "yes" if v else "no"
    f = float(v)
    if math.isinf(f) or math.isnan(f):
        return str(f)
    if f == int(f) and abs(f) < 1e15:
        return f"{int(f):,}"
    if abs(f) >= 1e6 or abs(f) < 1e-3:
        return f"{f:.4g}"
    return f"{f:,.4g}" if abs(f) >= 1000 else f"{f:.4g}"


def _success(v: Any) -> str:
    if v is None:
        return "-"
    f = float(v)
    if 0.999 < f < 1:
        return f"1 - {1 - f:.3g}"
    return f"{f:.6g}"


def _with_specs(results: Any, specs: Any) -> list[tuple[Any, Any]]:
    """Each baseline's result with its spec line, by name (a result optimized without its
    baselines has none)."""
    by_name = {s.name: s for s in specs}
    return [(b, by_name[b.name]) for b in results]


def _booster(call: Mapping[str, Any]) -> str:
    return booster_text(
        booster_of(call["booster"], call["votes"], call["retries"], call.get("check"))
    )


def _growth_words(g: Mapping[str, Any]) -> str:
    """A growth class only where it is confirmed; otherwise the closed form's, said as such."""
    fit = f"log-log slope {g['fitted_slope']}, slope of value/class {g['ratio_slope']}"
    if g["confirmed"] and g["claimed"]:
        return (
            f"{g['claimed']} (the closed form's class, confirmed by re-optimizing at each size:"
            f" the slope of value/class is {g['ratio_slope']})"
        )
    if g["confirmed"]:
        return f"{g['class']} (fitted numerically: {fit})"
    if g["claimed"]:
        # The closed form holds this size's decisions fixed; re-optimized at each size the plan
        # changes (a fixed target forces smaller chunks or more votes as the task grows).
        return (
            f"the closed form, with this size's decisions held fixed, grows as {g['claimed']};"
            f" not confirmed by re-optimizing at each size (log-log slope {g['fitted_slope']})"
        )
    return f"no class confirmed (the closest fit is {g['class']}: {fit})"


def render_text(rep: Mapping[str, Any], width: int | None = None, color: bool = False) -> str:
    """The report as text: a tree of the plan, then totals, baselines and the frontier.

    Plain text by default (what a pipe or a file gets); ``color`` adds terminal styles."""
    import io

    from rich import box
    from rich.console import Console
    from rich.table import Table
    from rich.tree import Tree

    buf = io.StringIO()
    console = Console(
        file=buf,
        width=width or 80,
        color_system="standard" if color else None,
        force_terminal=color,
        highlight=False,
        emoji=False,
        markup=False,
    )
    obj = rep["objective"]
    head = f"task {rep['task']}: {obj['sense']} {obj['metric']}"
    if not rep["feasible"]:
        console.print(f"{head}: INFEASIBLE")
        for w in rep["why"]:
            console.print(f"  - {w}")
        if rep["metrics"] is None:
            return buf.getvalue()
        console.print("most reliable plan:")
    from rich.text import Text

    tree = Tree(Text(f"{head} = {fmt(obj['value'])}", style="bold" if color else ""))
    for st in rep["stages"]:
        label = f"{st['kind']} {', '.join(st['ops'])}"
        if st["over"]:
            label += f" over {st['over']}"
        bits = [f"{fmt(st['chunks'])} {'nodes' if st['kind'] == 'reduce' else 'calls'}"]
        if st["x"] is not None:
            bits.append(f"x = {fmt(st['x'])}")
        if st["fanin"] is not None:
            bits.append(f"fanin {st['fanin']}")
        if st["history"]:
            bits.append(f"history {st['history']}")
        bits.append(f"success {_success(st['success'])}")
        node = tree.add(f"{label}: " + ", ".join(bits))
        for c in st["calls"]:
            lvl = f" (level {c['level']})" if c["level"] is not None else ""
            line = (
                f"{c['op']}{lvl} on {c['model']}, {_booster(c)}: "
                f"{fmt(c['decisions'])} × {fmt(c['samples_per_decision'])} samples, "
                f"reads {fmt(c['reads'])} writes {fmt(c['writes'])}"
            )
            if c["role"] != "op":
                line = f"[{c['role']}] {line}"
            m = c["metrics"]
            sub = node.add(line)
            sub.add(
                f"{obj['metric'] if obj['metric'] != 'success' else 'cost'} "
                f"{fmt(m[obj['metric'] if obj['metric'] in m else 'cost'])}"
                f" ({fmt(100 * c['cost_share'])}% of cost), "
                f"success/decision {_success(c['success_per_decision'])}"
            )
    console.print(tree)

    totals = Table(box=box.SIMPLE, title="totals", title_justify="left", show_header=True)
    totals.add_column("metric")
    totals.add_column("plan", justify="right")
    for b in rep["baselines"]:
        totals.add_column(b["name"], justify="right")
    rows = [*METRIC_KEYS, "success"]
    for k in rows:
        vals = [_success(rep["success"]) if k == "success" else fmt(rep["metrics"][k])]
        for b in rep["baselines"]:
            if b["metrics"] is None:
                vals.append("-")
            elif k == "success":
                vals.append(_success(b["success"]))
            else:
                vals.append(fmt(b["metrics"][k]))
        totals.add_row(k, *vals)
    if rep["baselines"]:
        totals.add_row(
            f"ratio ({obj['metric']})",
            "1",
            *[("-" if b["ratio"] is None else f"{fmt(b['ratio'])}x") for b in rep["baselines"]],
        )
        totals.add_row(
            "meets requirements",
            "yes" if rep["feasible"] else "no",
            *["yes" if b["feasible"] else "no" for b in rep["baselines"]],
        )
    console.print(totals)

    for r in rep["requirements"]:
        verdict = "ok" if r["ok"] else "NOT met"
        console.print(f"require {r['metric']} {r['cmp']} {fmt(r['bound'])}: {verdict}")
    if rep["closed_form"]:
        console.print(f"closed form ({obj['metric']}): {rep['closed_form']}")
    asym = rep.get("closed_form_asymptotic")
    if asym and asym != rep["closed_form"]:
        console.print(f"  with the size-dependent decisions as functions of the size: {asym}")
    g = rep["growth"]
    if rep.get("growth_note"):
        console.print(f"growth: {rep['growth_note']}")
    if g:
        console.print(f"growth in {g['variable']}: {_growth_words(g)}")
    if rep.get("growth_all"):
        console.print(f"closed-form growth in all sizes: {rep['growth_all']}")
    for b in rep["baselines"]:
        bg = b["growth"]
        if bg:
            console.print(f"baseline {b['name']} in {bg['variable']}: {_growth_words(bg)}")
        if b.get("growth_all"):
            console.print(f"baseline {b['name']} in all sizes: {b['growth_all']}")
        for p in b["problems"][:2]:
            console.print(f"baseline {b['name']}: {p}")

    fr = rep["frontier"]
    if fr["vs_success"]:
        t = Table(box=box.SIMPLE, title=f"frontier: {fr['metric']} vs success")
        t.add_column(fr["metric"], justify="right")
        t.add_column("success", justify="right")
        t.add_column("decisions")
        for p in fr["vs_success"]:
            t.add_row(fmt(p[fr["metric"]]), _success(p["success"]), _short(p["decisions"], rep))
        console.print(t)
    if len(fr["vs_latency"]) > 1:
        t = Table(box=box.SIMPLE, title=f"frontier: {fr['metric']} vs latency")
        t.add_column(fr["metric"], justify="right")
        t.add_column("latency", justify="right")
        t.add_column("decisions")
        for p in fr["vs_latency"]:
            t.add_row(fmt(p[fr["metric"]]), fmt(p["latency"]), _short(p["decisions"], rep))
        console.print(t)
    if rep["assumptions"]:
        console.print("assumptions:")
        for a in rep["assumptions"]:
            console.print(f"  - {a}")
    for n in rep["notes"]:
        console.print(f"note: {n}")
    return buf.getvalue()


def _short(decisions: Mapping[str, Any], rep: Mapping[str, Any]) -> str:
    """Exactly the decisions in which a frontier plan differs from the plan: changed values,
    and decisions the plan has and this one does not (``no move.retries``)."""
    plan = rep["decisions"]
    diff = [f"{k}={v}" for k, v in decisions.items() if plan.get(k) != v]
    diff += [f"no {k}" for k in plan if k not in decisions]
    return ", ".join(sorted(diff, key=lambda t: t.removeprefix("no "))) if diff else "(the plan)"


def explain_theta(cls: str, var: str) -> str:
    return theta(cls, var)
