"""The prediction an emitted program states in its header and holds its run against.

Cost, success and the other metrics come from the cost model (``aalp.model.cost``); the number of
calls also gets an interval, computed here from each decision's sample-count distribution
(``calls``) over the program's actual structure: the lower end assumes every wrong answer is
different, the upper end that they all agree (the cost model's worst case).
"""

from __future__ import annotations

import math
from typing import Any

from . import calls
from .view import View


def _decision_moments(
    view: View, op_name: str, success: list[list[float]], rival: float | None, worst: bool
) -> calls.Moments:
    op = view["ops"][op_name]
    booster = op["booster"]
    v = float(op["keep"]) or 1e-9
    parts: list[tuple[float, calls.Moments]] = []
    for weight, a in success:
        b = (1.0 - a) if rival is None else rival
        match booster["kind"]:
            case "ahead_by":
                k = int(booster["votes"])
                if a <= b and worst:
                    return math.inf, math.inf
                if worst:  # the cost model's race: right against the rival, others neutral
                    m = calls.ahead_by(k, a, b, v)
                else:  # other wrong answers all different (each one a competitor)
                    m = calls.ahead_by_mixed(k, a, 0.0 if rival is None else rival, v)
            case "majority" | "judge":  # a judge's n samples are drawn as majority's K
                m = calls.majority(int(booster["votes"]), v)
            case "expand":
                m = calls.majority(_beam_calls(booster), v)
            case "retry":
                tries = math.inf if booster["retries"] is None else float(booster["retries"])
                if booster["check"] == "exact":
                    m = calls.retry(a, tries, v)
                else:
                    verifier = view["ops"][booster["check"]]
                    c = float(verifier["success"][0][1])
                    g, gv = calls.geometric(v), calls.geometric(float(verifier["keep"]) or 1e-9)
                    mean = g[0] + gv[0]
                    var = (g[1] - g[0] ** 2) + (gv[1] - gv[0] ** 2)
                    accept = a * c + (1.0 - a) * (1.0 - c)
                    m = calls.retry(accept, tries, v, (mean, var + mean * mean))
            case _:
                m = calls.geometric(v)
        parts.append((weight, m))
    return calls.mixture(parts)


def _beam_calls(booster: dict[str, Any]) -> int:
    """Proposals of one beam search (the scorer makes as many)."""
    from aalp.model.beam import calls as beam_calls

    return beam_calls(int(booster["votes"]), int(booster["keep"]), int(booster["depth"]))


def _add(
    view: View, total: dict[str, list[float]], op: str, moments: calls.Moments, count: int
) -> None:
    mean, second = calls.repeat(moments, count)
    var = second - mean * mean
    slot = total.setdefault(op, [0.0, 0.0])
    booster = view["ops"][op]["booster"]
    if booster["kind"] == "retry" and booster["check"] != "exact":
        # each try is one generator sample and one verifier sample: split the calls so
        # the report can hold each op against its own prediction
        verifier = view["ops"][booster["check"]]
        gen, ver = (
            1.0 / (float(view["ops"][op]["keep"]) or 1e-9),
            1.0 / (float(verifier["keep"]) or 1e-9),
        )
        share = ver / (gen + ver)
        other = total.setdefault(verifier["name"], [0.0, 0.0])
        other[0] += mean * share
        mean -= mean * share
    if booster["kind"] == "expand":  # one scorer call per candidate
        scorer = view["ops"][booster["check"]]
        moments = calls.majority(_beam_calls(booster), float(scorer["keep"]) or 1e-9)
        s_mean, s_second = calls.repeat(moments, count)
        other = total.setdefault(scorer["name"], [0.0, 0.0])
        other[0] += s_mean
        other[1] += s_second - s_mean * s_mean
    if booster["kind"] == "judge" and int(booster["votes"]) > 1:
        # one judge call per decision, drawn again while red-flagged
        judge = view["ops"][booster["check"]]
        j_mean, j_second = calls.repeat(calls.geometric(float(judge["keep"]) or 1e-9), count)
        other = total.setdefault(judge["name"], [0.0, 0.0])
        other[0] += j_mean
        other[1] += j_second - j_mean * j_mean
    slot[0] += mean
    slot[1] += var


def _add_op(
    view: View,
    total: dict[str, list[float]],
    name: str,
    success: Any,
    count: int,
    worst: bool,
    level: dict[str, Any] | None = None,
) -> None:
    """``count`` decisions of op ``name`` and, when it is routed, of its classifier."""
    op = view["ops"][name]
    rival = op["rival"] if level is None else level["rival"]
    _add(view, total, name, _decision_moments(view, name, success, rival, worst), count)
    if op["routed_by"]:
        cls = view["ops"][op["routed_by"]]
        mc = _decision_moments(view, cls["name"], cls["success"], cls["rival"], worst)
        _add(view, total, cls["name"], mc, count)


def repeats_of(view: View, stage: dict[str, Any]) -> int:
    """How many times ``stage`` runs for a repeat around it (``repeat S K then vote`` on it or
    on a stage it is nested in; 1 when none)."""
    k = 1
    while stage is not None:
        k *= stage.get("repeat") or 1
        within = stage.get("within")
        stage = view["stages"][within] if within is not None else None
    return k


def call_distribution(view: View, worst: bool = True) -> dict[str, list[float]]:
    """``op -> [expected calls, variance]`` of one run of the program described by ``view``:
    under the cost model's assumptions (``worst``), or with every wrong answer different."""
    total: dict[str, list[float]] = {}
    ops = view["ops"]
    for stage in view["stages"]:
        runs = stage.get("runs", 1)  # a nested stage runs once per enclosing chunk
        runs *= repeats_of(view, stage)  # and K times in a repeat ... then vote
        match stage["kind"]:
            case "map" | "chain":
                for name in stage["ops"]:
                    _add_op(view, total, name, ops[name]["success"], stage["chunks"] * runs, worst)
            case "reduce":
                for level in stage["levels"]:
                    count = level["nodes"] * runs
                    _add_op(view, total, stage["op"], level["success"], count, worst, level)
    return total


def prediction(view: View, evaluation: Any = None) -> dict[str, Any]:
    """The header's prediction: the cost model's metrics (when ``evaluation`` is given) and
    the expected calls with a 99.9 % interval."""
    worst = call_distribution(view, worst=True)
    best = call_distribution(view, worst=False)
    mean = sum(m for m, _ in worst.values())
    var = sum(v for _, v in worst.values())
    low_mean = sum(m for m, _ in best.values())
    low_var = sum(v for _, v in best.values())
    bounds = [
        calls.interval(m, v) for m, v in ((mean, var), (low_mean, low_var)) if math.isfinite(m)
    ]
    lo = min((b[0] for b in bounds), default=0)
    highs = [b[1] for b in bounds]
    hi = max(highs, default=None) if math.isfinite(mean) and None not in highs else None
    out: dict[str, Any] = {
        "calls": mean if math.isfinite(mean) else None,
        "calls_interval": [lo, hi],
        "calls_by_op": {op: m for op, (m, _) in sorted(worst.items())},
    }
    out.update(_metrics(evaluation))
    return out


METRICS = (
    "success",
    "accuracy",  # per item, when the task has items (docs/model.md §3, items)
    "errors",
    "cost",
    "dollars",
    "tokens",
    "forward_passes",
    "latency",
    "latency_calls",
    "seconds",  # only when the plan's models have speeds (NaN, unknown, is left out)
)


def _metrics(evaluation: Any) -> dict[str, Any]:
    """The cost model's expected metrics, read from its ``Evaluation``."""
    if evaluation is None:
        return {}
    out: dict[str, Any] = {}
    metrics = getattr(evaluation, "metrics", None)
    for name in METRICS:
        raw = None
        if isinstance(metrics, dict):
            raw = metrics.get(name)
        elif metrics is not None:
            raw = getattr(metrics, name, None)
        if raw is None:
            raw = getattr(evaluation, name, None)
        if isinstance(raw, int | float) and not math.isnan(raw):
            out[name] = float(raw)
    model_calls = None
    if isinstance(metrics, dict):
        model_calls = metrics.get("calls")
    elif metrics is not None:
        model_calls = getattr(metrics, "calls", None)
    if isinstance(model_calls, int | float):
        out["model_calls"] = float(model_calls)
    return out
