"""Requirements, the objective and the workers: known metrics bounded in the direction that
means something, an objective with its metric's sense, a whole number of workers."""

from __future__ import annotations

from aalp import codes
from aalp.checks.context import TaskContext, at
from aalp.checks.formulas import value
from aalp.checks.values import fmt_number, is_int
from aalp.front.ir import ITEM_METRICS, METRICS, REQUIRE_METRICS, MapStage, Requirement
from aalp.suggest import did_you_mean


def check_workers(t: TaskContext) -> None:
    if t.task.workers is None:
        return
    span = t.span(t.task)
    val = value(t.c, t.task.workers, t.scope, span, "the number of workers")
    if val is not None and (val < 1 or not is_int(val)):
        t.c.error(
            codes.NOT_A_COUNT,
            f"the number of workers is {fmt_number(val)}; it must be a whole number of at least 1",
            at(t.task.workers, span),
            "workers is how many calls may run at once",
        )


def check_requirements(t: TaskContext) -> None:
    for req in t.task.requirements:
        _check_requirement(t, req)
    items = [r for r in t.task.requirements if r.metric in ITEM_METRICS]
    whole = next((r for r in t.task.requirements if r.metric == "success"), None)
    if items and whole is not None:
        t.c.error(
            codes.TWO_MEASURES,
            f"task '{t.task.name}' requires both success and {items[0].metric}: the optimizer"
            " holds a plan to one measure of reliability",
            t.span(items[0]),
            "keep 'require success' (every item right) or the per-item bound, not both",
        )
    objective = t.task.objective
    if items and objective is not None and objective.metric == "success":
        t.c.error(
            codes.TWO_MEASURES,
            f"task '{t.task.name}' maximizes success but requires {items[0].metric}: the"
            " optimizer holds a plan to one measure of reliability",
            t.span(objective),
            "minimize a cost under the per-item bound, or require success instead",
        )
    datas = {r.data for r in items if r.data is not None and r.data in t.data}
    if len(datas) > 1:
        t.c.error(
            codes.TWO_MEASURES,
            f"task '{t.task.name}' bounds the accuracy of several data: {', '.join(sorted(datas))}",
            t.span(items[0]),
            "bound the accuracy of one data (the items whose results the task returns)",
        )


def _check_items(t: TaskContext, req: Requirement, span) -> None:
    """The items an accuracy or an error count is over: named data, or the first map's."""
    if req.data is not None:
        if req.data not in t.data:
            t.c.error(
                codes.UNKNOWN_DATA,
                f"unknown data '{req.data}' in 'require {req.metric}'",
                span,
                did_you_mean(req.data, t.data, "data"),
            )
        return
    within = t.task.within or (None,) * len(t.task.stages)
    if not any(
        isinstance(s, MapStage) and w is None for s, w in zip(t.task.stages, within, strict=True)
    ):
        t.c.error(
            codes.NO_ITEMS,
            f"'require {req.metric}' counts the items of the task's first map, but task"
            f" '{t.task.name}' has no map stage",
            span,
            f"name the items: 'require {req.metric} of DATA ...'",
        )


def _check_item_bound(t: TaskContext, req: Requirement, val, span) -> None:
    if req.metric == "accuracy" and req.cmp == "<=":
        t.c.error(
            codes.BAD_DIRECTION,
            "an upper bound on accuracy is not a requirement: the optimizer only makes"
            " plans more reliable",
            span,
            "require a least accuracy instead, e.g. 'require accuracy >= 0.999'",
        )
    elif req.metric == "errors" and req.cmp == ">=":
        t.c.error(
            codes.BAD_DIRECTION,
            "a lower bound on errors is not a requirement: errors are only bounded from above",
            span,
            "bound them from above, e.g. 'require errors <= 100'",
        )
    elif req.metric == "accuracy" and not 0 <= val <= 1:
        t.c.error(
            codes.BAD_BOUND,
            f"the required accuracy is {fmt_number(val)}; it must be a fraction in [0, 1]",
            at(req.bound, span),
            "accuracy is the expected fraction of items right, e.g. require accuracy >= 0.999",
        )
    elif req.metric == "errors" and not val >= 0:
        t.c.error(
            codes.BAD_BOUND,
            f"the bound on errors is {fmt_number(val)}; it must be at least 0",
            at(req.bound, span),
            "errors is the expected number of items whose result is wrong",
        )


def _check_requirement(t: TaskContext, req: Requirement) -> None:
    span = t.span(req)
    if req.metric not in REQUIRE_METRICS:
        t.c.error(
            codes.UNKNOWN_METRIC,
            f"unknown metric '{req.metric}' in 'require'",
            span,
            did_you_mean(req.metric, REQUIRE_METRICS, "metric"),
        )
    if req.metric in ITEM_METRICS:
        _check_items(t, req, span)
    val = value(t.c, req.bound, t.scope, span, f"the bound on {req.metric}")
    if val is None:
        return
    if req.metric in ITEM_METRICS:
        _check_item_bound(t, req, val, span)
        return
    if req.metric == "success" and not 0 <= val <= 1:
        t.c.error(
            codes.BAD_BOUND,
            f"the required success is {fmt_number(val)}; it must be a probability in [0, 1]",
            at(req.bound, span),
            "for example: require success >= 0.99",
        )
    if req.metric == "success" and req.cmp == "<=":
        t.c.error(
            codes.BAD_DIRECTION,
            "an upper bound on success is not a requirement: the optimizer only makes"
            " plans more reliable",
            span,
            "require a least success instead, e.g. 'require success >= 0.99'",
        )
    elif req.metric in METRICS and req.metric != "success" and req.cmp == ">=":
        t.c.error(
            codes.BAD_DIRECTION,
            f"a lower bound on {req.metric} is not a requirement: costs and latencies"
            " are only bounded from above",
            span,
            f"bound it from above, e.g. 'require {req.metric} <= ...'",
        )
    elif req.metric != "success" and not val > 0:
        t.c.error(
            codes.BAD_BOUND,
            f"the bound on {req.metric} is {fmt_number(val)}; it must be positive",
            at(req.bound, span),
            "costs, budgets and latencies are above zero",
        )


def check_objective(t: TaskContext) -> None:
    objective = t.task.objective
    if objective is None:
        t.c.report(
            "note",
            codes.DEFAULT_OBJECTIVE,
            f"task '{t.task.name}' has no objective; it will minimize cost",
            t.span(t.task),
            "state it explicitly, e.g. 'minimize dollars'",
        )
    elif objective.metric in ITEM_METRICS:
        t.c.error(
            codes.NOT_AN_OBJECTIVE,
            f"'{objective.sense} {objective.metric}': {objective.metric} is a per-item bound,"
            " not an objective",
            t.span(objective),
            f"require it ('require {objective.metric} ...') and minimize a cost",
        )
    elif objective.metric not in METRICS:
        t.c.error(
            codes.UNKNOWN_METRIC,
            f"unknown metric '{objective.metric}' in the objective",
            t.span(objective),
            did_you_mean(objective.metric, METRICS, "metric"),
        )
    elif (objective.sense == "maximize") != (objective.metric == "success"):
        wanted = "maximize" if objective.metric == "success" else "minimize"
        t.c.error(
            codes.BAD_SENSE,
            f"'{objective.sense} {objective.metric}': success is maximized and every other"
            " metric minimized",
            t.span(objective),
            f"write '{wanted} {objective.metric}'",
        )
