"""Names: a spec with a task, every name declared once and none of the reserved ones, and the
references to ops and data inside a task that resolve."""

from __future__ import annotations

from collections.abc import Iterable

from aalp import codes
from aalp.checks.context import Context, TaskContext
from aalp.front.ir import Span
from aalp.suggest import did_you_mean

RESERVED = ("x", "calls", "fanin", "level")


def check_has_task(c: Context) -> None:
    if not c.spec.tasks:
        c.error(
            codes.NO_TASK,
            "the spec has no task, so there is nothing to optimize",
            Span(c.spec.file, 1, 1, 1, 1),
            "add one: task NAME { data, ops, stages, requirements } (docs/language.md, section 5)",
        )


def check_duplicates(c: Context) -> None:
    spec = c.spec
    _unique(c, ((p.name, p.span) for p in spec.params), "parameter")
    _unique(c, ((m.name, m.span) for m in spec.models), "model")
    _unique(c, ((t.name, t.span) for t in spec.tasks), "task")
    _unique_data(c)
    for task in spec.tasks:
        _unique(c, ((o.name, o.span) for o in task.ops), "op")
        _unique(c, ((b.name, b.span) for b in task.baselines), "baseline")


def _unique(c: Context, items: Iterable[tuple[str, Span]], kind: str) -> None:
    seen: dict[str, Span] = {}
    for name, span in items:
        if name in seen:
            first = seen[name]
            where = f" (first declared on line {first.line})" if first.line else ""
            c.error(
                codes.DUPLICATE,
                f"{kind} '{name}' is declared twice{where}",
                span,
                f"rename one of them or remove the second {kind}",
            )
        else:
            seen[name] = span


def _unique_data(c: Context) -> None:
    # Data names share one namespace with the parameters (both are size names in formulas),
    # and env is flat, so a data name must differ from every parameter and from the data of
    # other tasks.
    owners: dict[str, str] = {p.name: "a parameter" for p in c.spec.params}
    for task in c.spec.tasks:
        local: set[str] = set()
        for datum in task.data:
            if datum.name in local:
                c.error(
                    codes.DUPLICATE,
                    f"data '{datum.name}' is declared twice in task '{task.name}'",
                    datum.span,
                    "rename one of them or remove the second",
                )
            elif datum.name in owners:
                c.error(
                    codes.DUPLICATE,
                    f"data '{datum.name}' has the name of {owners[datum.name]}",
                    datum.span,
                    "parameters and data share one namespace; rename one of them",
                )
            local.add(datum.name)
        for name in local:
            owners.setdefault(name, f"the data of task '{task.name}'")


def check_reserved(c: Context) -> None:
    spec = c.spec
    for name, span in [(p.name, p.span) for p in spec.params] + [
        (d.name, d.span) for t in spec.tasks for d in t.data
    ]:
        if name in RESERVED:
            c.error(
                codes.RESERVED_NAME,
                f"'{name}' is reserved and cannot be declared",
                span,
                "'x' is an op's granularity, 'calls' a stage's number of calls, 'fanin' and"
                " 'level' a reduce node's",
            )


def op_ref(t: TaskContext, name: str, span: Span, where: str) -> bool:
    """True if the task has an op ``name``; else report it, with a suggestion."""
    if name in t.ops:
        return True
    t.c.error(
        codes.UNKNOWN_OP,
        f"unknown op '{name}' in {where}",
        span,
        did_you_mean(name, t.ops, "op"),
    )
    return False


def data_ref(t: TaskContext, name: str, span: Span, where: str) -> bool:
    """True (and the data counts as used) if the task has data ``name``; else report it."""
    if name in t.data:
        t.c.used.add(name)
        return True
    t.c.error(
        codes.UNKNOWN_DATA,
        f"unknown data '{name}' in {where}",
        span,
        did_you_mean(name, t.data, "data name"),
    )
    return False
