"""``repeat STAGE K then vote`` in the cost model: K independent runs of a stage, then a vote.

One run of the repeated stage (with its nested stages) has metrics M and success s = exp(L),
L the sum of the stage's and its nested stages' ln(success). The K runs are independent copies
and the vote over their final answers is a local count, no call (docs/model.md §3, repeat):

- every sum (calls, forward passes, cost, tokens, dollars) is K·M;
- the critical paths (latency, latency_calls, seconds) are one run's with unbounded workers
  (the K runs side by side) and K times one run's with ``workers`` set (the runs one after
  another, each on the whole pool);
- success is the majority's: ``P[Bin(K, s) ≥ (K+1)/2]`` for odd K, wrong runs assumed to agree
  (the conservative case of a rival rate 1 − s, as ``allow vote majority`` assumes).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import replace

from aalp.front.expr import evaluate
from aalp.front.ir import Task
from aalp.front.nesting import inner_stages
from aalp.front.repeat import flat_index
from aalp.model import reliability as rel
from aalp.model.metrics import Metrics, StageEval
from aalp.plan.context import Context
from aalp.plan.plan import DecisionError


def repeat_metrics(one: Metrics, k: int, parallel: bool) -> Metrics:
    """The metrics of K runs of one whose metrics are ``one``."""
    return one.scale(float(k), 1.0 if parallel else float(k))


def repeat_log_success(log_one: float, k: int) -> float:
    """ln P(the majority of K independent runs is right), each right with ``exp(log_one)``."""
    s = math.exp(log_one)
    up, low = rel.binom_tail(k, s, (k + 1) // 2)
    if up <= 0.0:
        return -math.inf
    # near 1 the failure is the precise side: ln(1 − failure)
    return math.log1p(-low) if low < 0.5 else math.log(up)


def apply_repeats(ctx: Context, stages: list[StageEval], counts: dict[int, int]) -> list[StageEval]:
    """``stages`` with each repeated group (the stage at a key of ``counts`` and its nested
    stages) costed as ``counts[key]`` runs and voted; the vote's change of ln(success) (and of
    ln(accuracy), bounded by the success) is put on the repeated stage itself."""
    out = list(stages)
    parallel = ctx.workers is None
    for index, k in sorted(counts.items()):
        group = [index, *inner_stages(ctx.task, index)]
        log_one = sum(out[i].log_success for i in group)
        acc_one = sum(out[i].log_accuracy for i in group)
        for i in group:
            rows = tuple(
                replace(r, metrics=repeat_metrics(r.metrics, k, parallel)) for r in out[i].op_evals
            )
            metrics = repeat_metrics(out[i].metrics, k, parallel)
            out[i] = replace(out[i], metrics=metrics, op_evals=rows)
        voted = repeat_log_success(log_one, k)
        # an item's result is right when the voted whole answer is: its accuracy is at least
        # the vote's success (the bound a stage's own success formula gives too)
        out[index] = replace(
            out[index],
            repeat=k,
            log_success=out[index].log_success + voted - log_one,
            log_accuracy=out[index].log_accuracy + voted - acc_one,
        )
    return out


def repeat_counts(ctx: Context) -> dict[int, int]:
    """The flat index of each repeated stage of the task and its K (a whole odd number; a
    ``choose`` resolved from the plan's decisions first, ``aalp.model.repeat_choice``)."""
    return counts_of(ctx.task, ctx.fenv)


def counts_of(task: Task, fenv: Mapping[str, float]) -> dict[int, int]:
    """``repeat_counts`` of ``task`` under the parameter values ``fenv``."""
    out = {}
    for r in task.repeats:
        if r.count is None:  # a plan's K not written in yet (aalp.model.repeat_choice)
            key = f"stage{flat_index(task, r) + 1}.repeat"
            raise DecisionError(
                f"stage {flat_index(task, r) + 1} repeats 'choose' times: the plan's decision"
                f" '{key}' gives K",
                key,
            )
        out[flat_index(task, r)] = round(evaluate(r.count, dict(fenv)))
    return out


__all__ = ["apply_repeats", "counts_of", "repeat_counts", "repeat_log_success", "repeat_metrics"]
