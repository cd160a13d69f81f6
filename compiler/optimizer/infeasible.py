"""Why a spec is infeasible, in words a user can act on.

Given the plan of best achievable success, say which requirement fails and by how much, and
look for the usual causes: voting that cannot converge (an op whose answer is not the most likely
one), a vote limit below the k the target needs (MAKER's closed form), requirements that
conflict (the success target is reachable, but only above the budget), or calls that fit no
model's context window.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from aalp.front import expr as ex
from aalp.front.ir import VoteBooster
from aalp.model import reliability as rel
from aalp.model.reliability import success_meets

if TYPE_CHECKING:
    from aalp.optimizer.types import Requirement, Solution


def _g(v: float) -> str:
    return f"{v:.6g}"


def _near_one(value: Any) -> str:
    """A bound near 1 as ``1 − 1e-07`` (its float would print as 1)."""
    gap = float(1 - value)
    return f"1 − {gap:.3g}" if 0 < gap < 1e-4 else _g(float(value))


def success_text(log_success: float) -> str:
    """A success near 1 as ``1 − 3.2e-18`` (its float would print as 1), one below the
    smallest float as ``e^-2500 (about 10^-1085.7)``."""
    if log_success == -math.inf:
        return "0"
    if log_success < -700:
        return f"e^{log_success:.6g} (about 10^{log_success / math.log(10):.1f})"
    failure = -math.expm1(log_success)
    return f"1 − {failure:.3g}" if 0 < failure < 1e-4 else _g(math.exp(log_success))


def _success_ok(r: Any, log_success: float) -> bool:
    if r.cmp == ">=":
        return success_meets(log_success, r.exact if r.exact is not None else r.bound)
    return r.holds(math.exp(log_success))


def _probabilities(solver: Any, op: str, x: int, model: str | None) -> list[tuple[float, float]]:
    """(a, b) per mixture component of ``op`` at ``x`` on ``model`` (b = rival, else 1 − a)."""
    o = solver.task.op(op)
    outcomes = o.success
    for s in o.success_on:
        if s.model == model:
            outcomes = s.outcomes
    env = {**solver.env, "x": float(x)}
    out = []
    for oc in outcomes:
        try:
            a = ex.evaluate(oc.p, env)
            b = ex.evaluate(o.rival, env) if o.rival is not None else 1.0 - a
        except ex.EvalError:
            continue
        out.append((a, b))
    return out


def _voting_ops(solver: Any) -> list[tuple[str, VoteBooster]]:
    out = []
    for b in solver.task.boosters:
        if isinstance(b, VoteBooster) and b.kind == "ahead_by":
            for os_ in solver.space.ops:
                if not b.ops or os_.op in b.ops:
                    out.append((os_.op, b))
    return out


def explain_infeasible(
    solver: Any,
    pins: Mapping[str, Any],
    reqs: Sequence[Requirement],
    best: Solution | None,
    proven: bool = True,
) -> tuple[str, ...]:
    """Reasons (most specific first) why no plan meets every requirement; ``proven`` says
    whether ``best`` is proven the most reliable plan (else the best a budget found)."""
    why: list[str] = []
    if best is None or not best.valid:
        probs = best.problems if best is not None else ()
        first = next(iter(probs), "no decision of the space gives a plan that can run")
        why.append(f"no plan can run: {first}")
        return tuple(why)
    if solver.ctx.measure == "accuracy":
        return _accuracy_why(best, reqs, proven)
    target = next((r.bound for r in reqs if r.metric == "success" and r.cmp == ">="), None)
    log_success = best.evaluation.log_success
    for r in reqs:
        if r.metric == "success" and not _success_ok(r, log_success):
            why.append(
                (
                    f"the best achievable success is {success_text(log_success)}"
                    if proven
                    else f"the most reliable plan found has success {success_text(log_success)}"
                )
                + f" < {_g(r.bound)} (the plan below)"
            )
    stages = best.evaluation.stages
    for op, booster in _voting_ops(solver):
        rows = [o for s in stages for o in s.op_evals if o.op == op and o.role == "op"]
        if not rows:
            continue
        row = rows[0]
        xs = sorted({1, row.x})
        comps = [c for x in xs for c in _probabilities(solver, op, x, row.model)]
        if comps and all(a <= b for a, b in comps):
            a, b = comps[0]
            rival = "1/2" if solver.task.op(op).rival is None else f"its rival's {_g(b)}"
            why.append(
                f"voting cannot help '{op}': success {_g(a)} ≤ {rival} at every x"
                " (the right answer is not the most likely one)"
            )
            continue
        if target is None or booster.max is None or len(comps) != 1:
            continue
        a, _b = comps[0]
        others = math.fsum(s.log_success for s in stages) - math.fsum(
            s.log_success for s in stages if any(o.op == op for o in s.op_evals)
        )
        # the success this op's decisions must reach (> 1: out of reach whatever the votes)
        gap = math.log(target) - others if target > 0 and others > -math.inf else math.inf
        share = math.exp(gap) if gap < 1.0 else 2.0
        count = sum(o.decisions for o in rows)
        if not 0 < share < 1 or a <= 0.5:
            continue
        need = rel.k_min(a, count, 1, share)
        kmax = int(ex.evaluate(booster.max, solver.env))
        if need is not None and need > kmax:
            why.append(
                f"the target needs k = {need} > max {kmax} for '{op}' at x = {row.x}"
                f" ({count if count < 10**12 else _g(count)} decisions, success {_g(a)} each)"
            )
    unmet = [r for r in reqs if r.metric != "success" and not r.holds(best.value(r.metric))]
    others = [r for r in reqs if r.metric != "success"]
    if not unmet and others and target is not None and success_meets(log_success, target):
        # Success is reachable: the other requirements must be what rules every plan out.
        why.append(
            "success ≥ "
            + _g(target)
            + " is reachable, but not together with "
            + ", ".join(str(r) for r in others)
        )
    for r in unmet:
        why.append(f"the most reliable plan has {r.metric} = {_g(best.value(r.metric))}; {r}")
    if not why:
        why.append("no plan meets every requirement")
    return tuple(why)


def _accuracy_why(best: Any, reqs: Sequence[Any], proven: bool) -> tuple[str, ...]:
    """Why no plan meets a bound on accuracy or errors (and the other bounds)."""
    why: list[str] = []
    ev = best.evaluation
    found = "the best achievable" if proven else "the most accurate plan found has"
    for r in reqs:
        if r.floor is not None and not r.met(ev):
            why.append(
                f"{found} accuracy is {success_text(ev.log_accuracy)}"
                f" ({_g(ev.errors)} expected errors in {_g(ev.item_count)} items of"
                f" '{ev.items}') < {_near_one(r.floor)} (the plan below)"
            )
    others = [r for r in reqs if not r.reliability]
    unmet = [r for r in others if not r.holds(best.value(r.metric))]
    if not why and others:
        why.append(
            "the accuracy asked is reachable, but not together with "
            + ", ".join(str(r) for r in others)
        )
    for r in unmet:
        why.append(f"the most accurate plan has {r.metric} = {_g(best.value(r.metric))}; {r}")
    return tuple(why) or ("no plan meets every requirement",)
