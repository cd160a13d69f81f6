"""The header every emitted program carries: the plan, its prediction and its assumptions.

Lines are plain text meant for ``#`` comments; anything taken from the spec passes through
``safe`` (``repr`` without the quotes), so it can never end a comment or a string.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from aalp.model.units import labelled
from aalp.plan.plan import booster_of, booster_text

from .view import View

#: said by every header besides the cost model's own assumptions
ASSUMPTIONS = (
    "wrong answers all agree (the worst case for voting) unless the spec states a rival",
    "calls interval: 99.9% (normal approximation), whether wrong answers agree or all differ",
)


#: what the prediction's counts include, said under them
PREDICTION_COUNTS = (
    "calls and tokens count every vote sample, resample, retry, classifier and verifier call"
)


def safe(text: object) -> str:
    """``text`` as one printable line (escapes instead of newlines and control characters)."""
    return repr(str(text))[1:-1]


def _booster(op: dict[str, Any]) -> str:
    b = op["booster"]
    return booster_text(booster_of(b["kind"], b["votes"], b["retries"], b["check"]), "long")


def _flags(op: dict[str, Any]) -> str:
    parts = []
    if op["max_writes"] is not None:
        parts.append(f"writes > {op['max_writes']}")
    if op["unparsable"]:
        parts.append(f"unparsable {op['answer']}")
    return ("red flags: " + " or ".join(parts)) if parts else ""


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def header_lines(view: View) -> list[str]:
    """The header as lines of text (without the comment marker)."""
    lines = [
        f"spec: {safe(view['spec_file'])}, task: {safe(view['task'])}, target: {view['target']}",
        "",
        "Plan:",
    ]
    for stage in view["stages"]:
        lines.append(f"  {stage['index'] + 1}. {safe(stage['comment'])}")
    for name, op in view["ops"].items():
        x = "x per tree level" if op["reduces"] else f"x = {op['x']}"
        lines.append(f"  op {safe(name)} on {safe(op['model'])}: {x}, {_booster(op)}")
        if _flags(op):
            lines.append(f"    {_flags(op)}")
    pred = view["prediction"]
    low, high = pred["calls_interval"]
    lines += ["", "Prediction for one run (aalp cost model, expected values):"]
    lines.append(f"  {'calls':<26}{_fmt(pred['calls'])} (99.9% interval [{low}, {high}])")
    for name in (
        "success",
        "accuracy",
        "errors",
        "dollars",
        "tokens",
        "forward_passes",
        "cost",
        "latency",
        "seconds",
    ):
        if name in pred:
            note = " (the critical path)" if name in ("latency", "seconds") else ""
            lines.append(f"  {labelled(name):<26}{_fmt(pred[name])}{note}")
    lines.append(f"  ({PREDICTION_COUNTS})")
    lines += ["", "Assumptions:"]
    lines += [f"  - {safe(a)}" for a in [*view.get("assumptions", ()), *ASSUMPTIONS]]
    lines += ["", "Decisions:"]
    lines += [f"  {safe(k)} = {safe(v)}" for k, v in view["decisions"].items()]
    return wrap(lines)


def wrap(lines: list[str], width: int = 96) -> list[str]:
    """Lines of at most ``width`` characters, continuations indented under their text."""
    import textwrap

    out = []
    for line in lines:
        if len(line) <= width:
            out.append(line)
            continue
        body = line.lstrip(" ")
        lead = len(line) - len(body)
        hang = lead + (2 if body.startswith("- ") else 4)
        out += textwrap.wrap(
            body,
            width,
            initial_indent=" " * lead,
            subsequent_indent=" " * hang,
            break_long_words=True,
            break_on_hyphens=False,
        )
    return out


def plan_id(view: View) -> str:
    """A short hash of the plan: a journal written for another plan is refused."""
    body = json.dumps(view, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(body.encode("utf-8")).hexdigest()[:16]
