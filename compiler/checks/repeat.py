"""``repeat STAGE K then vote``: K is an odd whole number the exact vote model can take, or
``choose`` on one repeat of a task."""

from __future__ import annotations

from aalp import codes
from aalp.checks.context import TaskContext, at
from aalp.checks.formulas import value
from aalp.checks.values import fmt_number, is_int
from aalp.front.repeat import MAX_REPEAT


def check_repeats(t: TaskContext) -> None:
    """Each repeat's K: an odd whole number from 1 to ``MAX_REPEAT``, or ``choose`` (the
    optimizer picks it) on one repeat of the task at most."""
    choices = [r for r in t.task.repeats if r.count is None]
    for extra in choices[1:]:  # the optimizer searches K of one repeat, all others fixed
        t.c.error(
            codes.BAD_REPEAT,
            "a second repeat with the count 'choose': the optimizer chooses the count of one"
            " repeat of a task",
            extra.span,
            "give this repeat's count, an odd whole number (for example 'repeat ... 5 then vote')",
        )
    for repeat in t.task.repeats:
        if repeat.count is None:
            continue
        k = value(t.c, repeat.count, t.scope, repeat.span, "the repeat's count")
        if k is None:
            continue
        if not is_int(k) or k < 1 or k > MAX_REPEAT or int(k) % 2 == 0:
            t.c.error(
                codes.BAD_REPEAT,
                f"the repeat's count is {fmt_number(k)}; it must be an odd whole number from 1"
                f" to {MAX_REPEAT}",
                at(repeat.count, repeat.span),
                "a majority of an odd number of runs is never a tie",
            )
