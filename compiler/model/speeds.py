"""Seconds of a plan: known only when every model it calls has a speed (docs/model.md §1,
seconds); the pace of one call is ``aalp.plan.pace``."""

from __future__ import annotations

from typing import Any

from aalp.plan.pace import NO_PACE, Pace, pace_of

__all__ = ["NO_PACE", "Pace", "known_seconds", "pace_of", "seconds_notes"]

NAN = float("nan")


def _plan_models(stages: Any) -> list[str]:
    return sorted({r.model for st in stages for r in st.op_evals if r.metrics.calls})


def known_seconds(ctx: Any, stages: Any, seconds: float) -> float:
    """A plan's seconds, or NaN (unknown) when a model it calls has no speed."""
    models = _plan_models(stages)
    if any(ctx.models[m].pace is None for m in models if m in ctx.models):
        return NAN
    return seconds


def seconds_notes(ctx: Any, stages: Any) -> tuple[str, ...]:
    """The assumption behind a plan's seconds, when it has them."""
    models = _plan_models(stages)
    if not models or any(ctx.models[m].pace is None for m in models if m in ctx.models):
        return ()
    return (
        "a call takes overhead + reads/prefill + writes/decode seconds (its model's speed;"
        " linear in what it reads under either attention)",
    )
