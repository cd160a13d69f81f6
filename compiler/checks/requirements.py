"""Requirements, the objective and the workers: known metrics bounded in the direction that
means something, an objective with its metric's sense, a whole number of workers."""

from __future__ import annotations

from aalp import codes
from aalp.checks.context import TaskContext, at
from aalp.checks.formulas import value
from aalp.checks.values import fmt_number, is_int
from aalp.front.ir import METRICS, Requirement
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


def _check_requirement(t: TaskContext, req: Requirement) -> None:
    span = t.span(req)
    if req.metric not in METRICS:
        t.c.error(
            codes.UNKNOWN_METRIC,
            f"unknown metric '{req.metric}' in 'require'",
            span,
            did_you_mean(req.metric, METRICS, "metric"),
        )
    val = value(t.c, req.bound, t.scope, span, f"the bound on {req.metric}")
    if val is None:
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
