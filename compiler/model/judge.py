"""Best of n picked by a judge (``allow vote judge J``; docs/model.md §2, judge).

n valid samples of the op are drawn at once (red-flagged ones drawn again, as for majority);
the judge op J reads them all and answers the number of the one it picks. With G of the n
samples right (G ~ Bin(n, a)): G = 0 fails, G = n succeeds whatever J picks, and otherwise J
picks a right one with probability c (J's success, its accuracy). So

    success = a^n + c·(1 − a^n − (1 − a)^n) = c·(1 − (1 − a)^n) + (1 − c)·a^n,
    failure = (1 − a)^n + (1 − c)·(1 − a^n − (1 − a)^n).

n = 1 needs no judge (success a). The judge call reads its own prompt and the n candidates
(J's reads plus n times the op's writes) and runs after the samples.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from aalp.model.reliability import Boosted, majority_rounds, samples_majority


def _pow(p: float, n: int) -> float:
    """p^n for 0 ≤ p ≤ 1, 0 at p = 0 (computed in logs so that it underflows quietly)."""
    if p <= 0.0:
        return 0.0
    return math.exp(n * math.log(p))


def judge_outcome(a: float, c: float, n: int) -> tuple[float, float]:
    """``(success, failure)`` of best-of-n picked by a judge of accuracy c, each computed on
    its own side so that both are precise when small.

    >>> [round(v, 6) for v in judge_outcome(0.6, 0.9, 3)]
    [0.864, 0.136]
    """
    if n <= 1:
        return a, 1.0 - a
    none = _pow(1.0 - a, n)  # every sample wrong
    every = _pow(a, n)  # every sample right
    mixed = max(0.0, 1.0 - none - every)
    return every + c * mixed, none + (1.0 - c) * mixed


def judge_calls(n: int) -> int:
    """Judge calls of one decision (before the judge's own red flags): 1, none for n = 1."""
    return 0 if n <= 1 else 1


def judge(a: float, c: float, n: int, v: float = 1.0) -> Boosted:
    """Best of n: its success and failure, ``n/v`` samples of the op and the rounds of drawing
    n valid samples at once (``majority_rounds``); the caller adds the judge's call."""
    success, failure = judge_outcome(a, c, n)
    return Boosted(success, failure, samples_majority(n, v), majority_rounds(n, v))


def judge_notes(stages: Sequence[Any]) -> tuple[str, ...]:
    """An assumption per judge of the plan (``StageEval`` rows of role judge)."""
    judges = dict.fromkeys(
        (r.op, r.model) for st in stages for r in st.op_evals if r.role == "judge"
    )
    return tuple(
        f"judge {op} on {model} picks a right candidate with its success whenever the "
        "candidates are mixed, independently of the samples (docs/model.md §2, judge)"
        for op, model in judges
    )
