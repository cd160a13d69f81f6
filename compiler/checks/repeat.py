"""``repeat STAGE K then vote``: K is an odd whole number the exact vote model can take."""

from __future__ import annotations

from aalp import codes
from aalp.checks.context import TaskContext, at
from aalp.checks.formulas import value
from aalp.checks.values import fmt_number, is_int

# The most runs a repeat may vote over (the binomial tail is summed term by term).
MAX_REPEAT = 999


def check_repeats(t: TaskContext) -> None:
    """Each repeat's K: an odd whole number from 1 to ``MAX_REPEAT`` (``choose`` is refused)."""
    for repeat in t.task.repeats:
        if repeat.count is None:  # parsed and written back; neither costed nor searched yet
            t.c.error(
                codes.BAD_REPEAT,
                "a repeat's count 'choose' is not planned yet",
                repeat.span,
                "give the count, an odd whole number (for example 'repeat ... 5 then vote')",
            )
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
