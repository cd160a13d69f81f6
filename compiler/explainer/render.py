"""The explain report as text: a rich tree of the plan and tables, readable in 80 columns.

Plain text by default (what a pipe or a file gets); with ``color``, terminal styles. The
sections, in order: the heading (and why a spec is infeasible), the plan's tree, the totals
beside every baseline, the requirements, closed form and growth, the frontiers, the
assumptions and notes.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping
from typing import Any

from aalp.explainer.plan_tree import heading, plan_tree
from aalp.explainer.schema import GrowthFit, Number, Point, Report
from aalp.explainer.units import LEGEND, labelled
from aalp.explainer.words import fmt, fold, formula_phrases, phrases_of
from aalp.explainer.words import success_text as _success
from aalp.optimizer.pareto import METRIC_KEYS


def render_text(rep: Report, width: int | None = None, color: bool = False) -> str:
    """The report as text: a tree of the plan, then totals, baselines and the frontier.

    Plain text by default (what a pipe or a file gets); ``color`` adds terminal styles."""
    from rich.console import Console

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
    if not rep.feasible:
        _print_infeasible(console, rep)
        if rep.metrics is None:
            return buf.getvalue()
        accurate = rep.frontier.measure == "accuracy"
        console.print("most accurate plan:" if accurate else "most reliable plan:")
    tree, needed = plan_tree(rep, console.width, color)
    _print_wide(console, tree, needed)
    _print_fitted(console, _totals(rep))
    _say(console, f"({LEGEND})")
    _print_summary(console, rep)
    for table in _frontier_tables(rep):
        _print_fitted(console, table)
    if rep.assumptions:
        console.print("assumptions:")
        for a in rep.assumptions:
            _say(console, f"  - {a}")
    for n in rep.notes:
        _say(console, f"note: {n}")
    return buf.getvalue()


def _say(console: Any, text: str, formula: str = "") -> None:
    """Print ``text`` (then ``formula``) on one line when it fits, else folded in the console's
    width between phrases (``words.phrases_of``; a formula between its terms): a value never
    breaks at its own space nor inside a number, and a phrase wider than the console widens
    the line. Continuation lines are indented under a leading ``  - `` or indent."""
    from rich.cells import cell_len
    from rich.text import Text

    line = f"{text} {formula}" if text and formula else text or formula
    if cell_len(line) <= console.width:
        console.print(line)
        return
    body = text.lstrip(" ")
    lead = text[: len(text) - len(body)]
    if body.startswith("- "):
        lead, body = lead + "- ", body[2:]
    phrases = (phrases_of(body) if body else []) + (formula_phrases(formula) if formula else [])
    indent = " " * cell_len(lead)
    lines = fold(phrases, max(1, console.width - len(indent)))
    lines = [lead + lines[0], *(indent + rest for rest in lines[1:])]
    needed = max(cell_len(one) for one in lines)
    _print_wide(console, Text("\n".join(lines), no_wrap=True, overflow="ignore"), needed)


def _print_fitted(console: Any, table: Any) -> None:
    """Print ``table`` in the console's width, or as wide as its widest row when that is
    wider: a cell is never cut short nor broken across lines (a number stays whole)."""
    needed = console.measure(table, options=console.options.update_width(100_000)).maximum
    _print_wide(console, table, needed)


def _print_wide(console: Any, renderable: Any, needed: int) -> None:
    """Print ``renderable`` in the console's width, or in ``needed`` cells when wider."""
    width = console.width
    console.width = max(width, needed)  # print(width=...) can only narrow
    try:
        console.print(renderable)
    finally:
        console.width = width


# ---------------------------------------------------------------------------------------------
# Sections
# ---------------------------------------------------------------------------------------------


def _print_infeasible(console: Any, rep: Report) -> None:
    _say(console, f"{heading(rep)}: INFEASIBLE")
    for w in rep.why:
        _say(console, f"  - {w}")


def _totals(rep: Report) -> Any:
    """Every metric of the plan beside each baseline's, the ratios and who meets the
    requirements."""
    from rich import box
    from rich.table import Table

    totals = Table(
        box=box.SIMPLE,
        title="totals",
        title_justify="left",
        show_header=True,
    )
    totals.add_column("metric", no_wrap=True)
    totals.add_column("plan", justify="right", no_wrap=True)
    for b in rep.baselines:
        totals.add_column(b.name, justify="right", no_wrap=True)
    for k in [*METRIC_KEYS, "success"]:
        if k == "seconds" and not _timed(rep):
            continue
        vals = [_success(rep.success) if k == "success" else _or_unknown(rep.metrics[k])]
        for b in rep.baselines:
            if b.metrics is None:
                vals.append("-")
            elif k == "success":
                vals.append(_success(b.success))
            elif b.metrics[k] is None:
                vals.append("unknown")
            else:
                vals.append(fmt(b.metrics[k]))
        totals.add_row(labelled(k), *vals)
    if rep.items is not None:
        for k in ("accuracy", "errors"):
            show = _success if k == "accuracy" else fmt
            vals = [show(getattr(rep, k))]
            vals += [show(getattr(b, k)) if b.metrics is not None else "-" for b in rep.baselines]
            totals.add_row(f"{k} ({rep.items})", *vals)
    if rep.baselines:
        totals.add_row(
            f"ratio ({rep.objective.metric})",
            "1",
            *[("-" if b.ratio is None else f"{fmt(b.ratio)}x") for b in rep.baselines],
        )
        totals.add_row(
            "meets requirements",
            "yes" if rep.feasible else "no",
            *["yes" if b.feasible else "no" for b in rep.baselines],
        )
    return totals


def _print_summary(console: Any, rep: Report) -> None:
    """The requirements, the closed form, and the growth of the plan and of each baseline."""
    for r in rep.requirements:
        verdict = "ok" if r.ok else "NOT met"
        _say(console, f"require {r.metric} {r.cmp} {fmt(r.bound)}: {verdict}")
    if rep.reliability_note:
        _say(console, rep.reliability_note)
    if rep.closed_form:
        _say(console, f"closed form ({rep.objective.metric}):", rep.closed_form)
    asym = rep.closed_form_asymptotic
    if asym and asym != rep.closed_form:
        _say(console, "  with the size-dependent decisions as functions of the size:", asym)
    if rep.growth_note:
        _say(console, f"growth: {rep.growth_note}")
    if rep.growth:
        _say(console, f"growth in {rep.growth.variable}: {_growth_words(rep.growth)}")
    if rep.growth_all:
        _say(console, f"closed-form growth in all sizes: {rep.growth_all}")
    for b in rep.baselines:
        if b.growth:
            _say(console, f"baseline {b.name} in {b.growth.variable}: {_growth_words(b.growth)}")
        if b.growth_all:
            _say(console, f"baseline {b.name} in all sizes: {b.growth_all}")
        for p in b.problems[:2]:
            _say(console, f"baseline {b.name}: {p}")


def _frontier_tables(rep: Report) -> list[Any]:
    """The frontier of the metric against success, and against latency when it has more
    than one point."""
    fr = rep.frontier
    tables = []
    if fr.vs_success:
        tables.append(_frontier_table(rep, fr.vs_success, "success", _success, fr.measure))
    if len(fr.vs_latency) > 1:
        tables.append(_frontier_table(rep, fr.vs_latency, "latency", fmt))
    return tables


def _frontier_table(
    rep: Report,
    points: tuple[Point, ...],
    against: str,
    show: Callable[[Number], str],
    name: str | None = None,
) -> Any:
    """``name``: what the ``against`` column is called (accuracy, when that is carried)."""
    from rich import box
    from rich.table import Table

    metric = rep.frontier.metric
    label = name or against
    t = Table(box=box.SIMPLE, title=f"frontier: {metric} vs {label}")
    t.add_column(labelled(metric), justify="right", no_wrap=True)
    t.add_column(labelled(label), justify="right", no_wrap=True)
    t.add_column("decisions")
    for p in points:
        t.add_row(fmt(p.value), show(getattr(p, against)), _short(p.decisions, rep.decisions))
    return t


# ---------------------------------------------------------------------------------------------
# Words and numbers
# ---------------------------------------------------------------------------------------------


def _growth_words(g: GrowthFit) -> str:
    """A growth class only where it is confirmed; otherwise the closed form's, said as such."""
    fit = f"log-log slope {g.fitted_slope}, slope of value/class {g.ratio_slope}"
    if g.confirmed and g.claimed:
        return (
            f"{g.claimed} (the closed form's class, confirmed by re-optimizing at each size:"
            f" the slope of value/class is {g.ratio_slope})"
        )
    if g.confirmed:
        return f"{g.cls} (fitted numerically: {fit})"
    if g.claimed:
        # The closed form holds this size's decisions fixed; re-optimized at each size the plan
        # changes (a fixed target forces smaller chunks or more votes as the task grows).
        return (
            f"the closed form, with this size's decisions held fixed, grows as {g.claimed};"
            f" not confirmed by re-optimizing at each size (log-log slope {g.fitted_slope})"
        )
    return f"no class confirmed (the closest fit is {g.cls}: {fit})"


def _short(decisions: Mapping[str, Any], plan: Mapping[str, Any]) -> str:
    """Exactly the decisions in which a frontier plan differs from the plan: changed values,
    and decisions the plan has and this one does not (``no move.retries``).

    >>> _short({"move.x": 2, "move.votes": 3}, {"move.x": 1, "move.votes": 3, "move.retries": 2})
    'no move.retries, move.x=2'
    """
    diff = [f"{k}={v}" for k, v in decisions.items() if plan.get(k) != v]
    diff += [f"no {k}" for k in plan if k not in decisions]
    return ", ".join(sorted(diff, key=lambda t: t.removeprefix("no "))) if diff else "(the plan)"


def _timed(rep: Report) -> bool:
    """True when the plan or a baseline has seconds (its models have speeds)."""
    rows = [rep.metrics, *(b.metrics for b in rep.baselines)]
    return any(r is not None and r.get("seconds") is not None for r in rows)


def _or_unknown(value: Number | None) -> str:
    return "unknown" if value is None else fmt(value)
