"""Model speeds and seconds: rates above zero, an overhead of zero or more, and a task that
minimizes or bounds seconds only where every model its ops may run on has a speed."""

from __future__ import annotations

from aalp import codes
from aalp.checks.context import Context, TaskContext, at
from aalp.checks.formulas import value
from aalp.checks.values import fmt_number


def check_speeds(c: Context) -> None:
    """``speed prefill P tok/s decode D tok/s overhead O ms``: P, D > 0 and O >= 0."""
    for model in c.spec.models:
        speed = model.speed
        if speed is None:
            continue
        parts = (
            (speed.prefill, "prefill rate", False),
            (speed.decode, "decode rate", False),
            (speed.overhead_ms, "overhead", True),
        )
        for expr, label, zero_ok in parts:
            if expr is None:
                continue
            what = f"the {label} of model '{model.name}'"
            val = value(c, expr, c.param_scope, speed.span, what)
            if val is not None and (val < 0 or (val == 0 and not zero_ok)):
                c.error(
                    codes.BAD_SPEED,
                    f"{what} is {fmt_number(val)}; it must be "
                    + ("zero or more" if zero_ok else "above zero"),
                    at(expr, speed.span),
                    "rates are tokens per second and the overhead a time per call (ms or s)",
                )


def check_seconds(t: TaskContext) -> None:
    """``minimize seconds`` and ``require seconds <= N`` need a speed on every model an op of
    the task may run on: without one a call's seconds are unknown."""
    uses = [r for r in t.task.requirements if r.metric == "seconds"]
    if t.task.objective is not None and t.task.objective.metric == "seconds":
        uses.insert(0, t.task.objective)
    if not uses:
        return
    known = {m.name: m for m in t.c.spec.models}
    untimed = sorted(
        {m for op in t.task.ops for m in op.models if m in known and known[m].speed is None}
    )
    if not untimed:
        return
    names = ", ".join(f"'{m}'" for m in untimed)
    word = "model" if len(untimed) == 1 else "models"
    first = uses[0]
    t.c.error(
        codes.UNTIMED_MODEL,
        f"task '{t.task.name}' {'minimizes' if first is t.task.objective else 'bounds'} seconds,"
        f" but {word} {names} {'has' if len(untimed) == 1 else 'have'} no speed: a call's seconds"
        " are unknown",
        t.span(first),
        "give each model its speed, e.g. 'speed prefill 5000 tok/s decode 80 tok/s"
        " overhead 200 ms', or minimize latency (forward passes)",
    )
