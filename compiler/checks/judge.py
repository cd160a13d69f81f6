"""Votes and free text: a judge op that picks the best of n samples (``allow vote judge J``),
and the warning for an exact-match vote on answers that are free text."""

from __future__ import annotations

from aalp import codes
from aalp.checks.context import TaskContext
from aalp.checks.names import op_ref
from aalp.front.ir import NO_SPAN, MapStage, Span, VoteBooster

# A judge answers with the index of the candidate it picks.
JUDGE_ANSWERS = ("number", "choice")


def check_judge(t: TaskContext, booster: VoteBooster, span: Span) -> None:
    """The judge op exists, is not one of the ops it judges, and answers a number."""
    judge = booster.judge or ""
    if not op_ref(t, judge, span, "'allow vote judge'"):
        return
    if judge in booster.ops:
        t.c.error(
            codes.BAD_JUDGE,
            f"op '{judge}' cannot judge its own samples",
            span,
            f"name the judged ops: 'allow vote judge {judge} on OP, ...' without '{judge}'",
        )
    answer = t.ops[judge].answer
    if answer not in JUDGE_ANSWERS:
        t.c.error(
            codes.BAD_JUDGE,
            f"judge op '{judge}' answers {answer}; a judge answers the number of the candidate "
            "it picks",
            span,
            f"declare 'answer number' in op '{judge}'",
        )


def check_text_votes(t: TaskContext) -> None:
    """Warn where ahead_by or majority would count answers an op declares free text: two
    right summaries rarely match word for word, so exact-match votes do not measure
    agreement."""
    for booster in t.task.boosters:
        if not isinstance(booster, VoteBooster) or booster.kind == "judge":
            continue
        for name in booster.ops or tuple(t.ops):
            op = t.ops.get(name)
            # only an op that declares 'answer text' (the default is kept quiet: most specs
            # without an answer clause vote on short, exact answers)
            if op is None or op.answer != "text" or op.answer_span == NO_SPAN:
                continue
            if not booster.ops and not _staged(t, name):
                continue
            t.c.warn(
                codes.VOTE_ON_TEXT,
                f"vote {booster.kind} on '{name}' counts its free-text answers as equal only "
                "when they match exactly",
                t.span(booster),
                f"let a judge op pick the best sample: 'allow vote judge JUDGE on {name}' "
                "(docs/language.md, boosters), or declare a structured answer",
            )


def _staged(t: TaskContext, name: str) -> bool:
    """Whether a map, chain or reduce stage runs op ``name`` (a vote without ``on`` boosts
    only those)."""
    return (
        name in t.chained
        or name in t.reduced
        or any(isinstance(s, MapStage) and name in s.ops for s in t.task.stages)
    )
