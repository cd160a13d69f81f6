"""A plan held against its estimates' intervals (docs/calibration.md §6).

The task is optimized three times: on the point estimates, on the pessimistic one-sided
bounds and on the optimistic ones. The estimate's plan, evaluated on either side, gives its
success interval; a decision that differs between the three plans is one the measurements do
not settle yet; and for every calibrated op of the plan the report says what success the
plan needs of it and how many samples would certify that at the confidence level.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from aalp.calibration import fit, stats
from aalp.calibration.apply import apply
from aalp.calibration.schema import Calibration

SIDES = ("pessimistic", "estimate", "optimistic")


@dataclass(frozen=True)
class Robustness:
    """What the intervals do to the plan: its success on each side, whether each side has a
    plan, the decisions that change (``decision -> {side: value}``), and per calibrated op
    the success the plan needs, what the samples certify and the samples it would take."""

    confidence: float
    decisions: dict[str, Any] | None
    success: dict[str, float | None]
    feasible: dict[str, bool]
    unsettled: dict[str, dict[str, Any]]
    certify: list[dict[str, Any]]

    def to_json(self) -> dict[str, Any]:
        return {
            "confidence": self.confidence,
            "decisions": self.decisions,
            "success": self.success,
            "feasible": self.feasible,
            "settled": not self.unsettled,
            "unsettled": self.unsettled,
            "certify": self.certify,
        }


def _optimize(checked: Any, task_name: str | None, pins: list[str]) -> Any:
    from aalp.optimizer.driver import optimize

    return optimize(
        checked, task_name, None, pins, frontier=False, baselines=False, explain_infeasible=False
    )


def _success_of(checked: Any, task_name: str | None, decisions: dict[str, Any]) -> float | None:
    """The success of ``decisions`` under ``checked``'s numbers (None when it cannot run)."""
    from aalp.model.cost import evaluate

    got = evaluate(checked, task_name, decisions)
    return float(got.success) if got.feasible else None


def decision_success(a: float, b: float, booster: Any) -> float:
    """One decision's success when each sample is right with ``a`` and the rival is ``b``
    (docs/model.md §2)."""
    from aalp.model import reliability
    from aalp.plan.plan import Retry, Vote

    match booster:
        case Vote(kind="ahead_by", k=k):
            failure = reliability.ahead_by_failure(a, b, k)
            return 0.0 if failure is None else 1.0 - failure
        case Vote(kind="majority", k=k):
            return reliability.majority_success(a, k)
        case Retry(check="exact", max=r):
            return 1.0 if r is None else 1.0 - (1.0 - a) ** r
    return a


def needed_success(target: float, decisions: int, share: float, booster: Any) -> float | None:
    """The least per-sample success at which ``decisions`` decisions, each boosted by
    ``booster`` with the rival at ``share`` of the failures, succeed together with
    ``target`` (the op as the plan's only source of failure); bisection on a."""
    per_decision = math.exp(math.log(target) / decisions)
    if decision_success(1.0 - 1e-15, share * 1e-15, booster) < per_decision:
        return None
    low, high = 0.0, 1.0
    for _ in range(200):
        mid = (low + high) / 2.0
        if mid in (low, high):
            break
        if decision_success(mid, share * (1.0 - mid), booster) < per_decision:
            low = mid
        else:
            high = mid
    return high


def _target(result: Any) -> float | None:
    for req in result.requirements:
        if getattr(req, "metric", None) == "success" and req.cmp == ">=":
            return float(req.bound)
    return None


def _certify(
    solution: Any, target: float | None, found: dict[str, dict[str, Any]], confidence: float
) -> list[dict[str, Any]]:
    out = []
    if target is None:
        return out
    plan = solution.plan
    for stage in plan.stages:
        for name in stage.ops:
            planned = plan.op(name)
            est = found.get(name, {}).get(planned.model)
            if est is None or not stage.chunks:
                continue
            share = est.rival_share_high
            need = needed_success(target, stage.chunks, share, planned.booster)
            low = est.success_low
            certified = est.point_low.get(planned.x)
            if certified is None and low["form"] != "scaled":
                certified = fit.evaluate(low, planned.x)
            rate = est.failures / max(1, est.samples)
            want = None
            if need is not None:
                want = (
                    est.samples
                    if certified is not None and certified >= need
                    else stats.samples_to_certify(need, rate, confidence, est.samples + 1)
                )
            out.append(
                {
                    "op": name,
                    "model": planned.model,
                    "x": planned.x,
                    "needs_success": need,
                    "certified_success": certified,
                    "samples": est.samples,
                    "samples_needed": want,
                    "more_samples": None if want is None else max(0, want - est.samples),
                }
            )
    return out


def robustness(
    checked: Any,
    calibration: Calibration,
    task_name: str | None,
    pins: list[str],
    confidence: float,
) -> Robustness:
    """The plan on the estimates against the plans on either side of the intervals."""
    applied = {s: apply(checked, calibration, task_name, s, confidence) for s in SIDES}
    results = {s: _optimize(applied[s].checked, task_name, pins) for s in SIDES}
    chosen = results["estimate"].plan if results["estimate"].feasible else None
    decisions = None if chosen is None else dict(chosen.decisions)
    success: dict[str, float | None] = {}
    for s in SIDES:
        success[s] = (
            None if decisions is None else _success_of(applied[s].checked, task_name, decisions)
        )
    unsettled: dict[str, dict[str, Any]] = {}
    for s in ("pessimistic", "optimistic"):
        other = results[s].plan if results[s].feasible else None
        theirs = {} if other is None else dict(other.decisions)
        for key in sorted(set(theirs) | set(decisions or {})):
            mine = (decisions or {}).get(key)
            if theirs.get(key) != mine:
                unsettled.setdefault(key, {"estimate": mine})[s] = theirs.get(key)
    certify = (
        []
        if chosen is None
        else _certify(
            chosen, _target(results["estimate"]), applied["estimate"].estimates, confidence
        )
    )
    return Robustness(
        confidence,
        decisions,
        success,
        {s: results[s].feasible for s in SIDES},
        unsettled,
        certify,
    )


def settled_rule(checked: Any, task_name: str | None, confidence: float) -> Any:
    """The sequential stopping rule of ``aalp calibrate``: an op is settled once the task has a
    plan on the estimates and no decision of the op differs between the plans on either side
    of the intervals (more samples only narrow the intervals, so they cannot change it)."""

    def settled(calibration: Calibration, op: str) -> bool:
        got = robustness(checked, calibration, task_name, [], confidence)
        return got.feasible["estimate"] and not any(
            key.startswith(op + ".") for key in got.unsettled
        )

    return settled


def _shown(value: float | None) -> str:
    return "-" if value is None else f"{value:.6g}"


def render(rob: Robustness, correlated: list[str]) -> str:
    """The robustness section of ``explain`` (``correlated``: its warnings about voting)."""
    level = f"{rob.confidence:.0%}"
    s = rob.success
    lines = [
        f"calibration ({level} one-sided bounds):",
        f"  success of the plan: {_shown(s['estimate'])} on the estimates, between "
        f"{_shown(s['pessimistic'])} (pessimistic) and {_shown(s['optimistic'])} (optimistic)",
    ]
    if not rob.feasible["pessimistic"]:
        lines.append("  on the pessimistic bounds no plan meets the requirements")
    if rob.unsettled:
        lines.append(
            "  decisions that change within the intervals (more samples would settle them):"
        )
        for key, sides in rob.unsettled.items():
            told = ", ".join(f"{side} {value}" for side, value in sides.items())
            lines.append(f"    {key}: {told}")
    else:
        lines.append("  settled: the same plan on either side of every interval")
    for c in rob.certify:
        need = c["needs_success"]
        if need is None:
            lines.append(f"  op {c['op']}: no success of one sample lets this plan meet the target")
            continue
        more = c["more_samples"]
        where = f"op {c['op']} on {c['model']} at x = {c['x']}"
        told = (
            "no number of samples at the observed failure rate certifies it"
            if more is None
            else "certified"
            if more == 0
            else f"{c['samples_needed']} samples at the observed failure rate certify it "
            f"({more} more)"
        )
        lines.append(
            f"  {where}: the plan needs a sample success of at least {need:.6g}; the "
            f"{c['samples']} samples certify {_shown(c['certified_success'])}: {told}"
        )
    lines.extend(f"  warning: {w}" for w in correlated)
    return "\n".join(lines) + "\n"
