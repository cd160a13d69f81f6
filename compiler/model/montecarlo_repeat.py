"""The Monte Carlo of ``repeat STAGE K then vote``: K independent copies of a stage's runs,
then the vote (docs/model.md §3, repeat).

``simulate`` plays the repeated stage (with its nested stages) K times into fresh per-run
totals; ``vote_runs`` adds them to the plan's: every sum over the K copies, the critical
paths the copies' mean with unbounded workers (side by side; the model's expected latency of a
parallel copy, as for a map's chunks) and their sum with ``workers`` set (one after another),
and a run is right when most of its K copies are (wrong copies assumed to agree).
"""

from __future__ import annotations

from typing import Any

from aalp.front.ir import LATENCY_METRICS
from aalp.front.nesting import inner_stages
from aalp.model.metrics import METRIC_FIELDS
from aalp.model.repeat import repeat_counts
from aalp.plan.context import Context


def repeat_groups(ctx: Context) -> dict[int, int]:
    """Each stage of a repeated group (flat index) and the index of the stage repeated."""
    out = {}
    for index in repeat_counts(ctx):
        for i in [index, *inner_stages(ctx.task, index)]:
            out[i] = index
    return out


def fresh(runs: int) -> dict[str, Any]:
    """Per-run totals of nothing played yet."""
    import numpy as np

    out: dict[str, Any] = {f: np.zeros(runs) for f in METRIC_FIELDS}
    out["ok"] = np.ones(runs, dtype=bool)
    out["chunk_latency"] = {}
    return out


def vote_runs(out: dict[str, Any], copies: list[dict[str, Any]], workers: float | None):
    """``out`` with K ``copies`` of a repeated stage added and voted (module docstring)."""
    k = len(copies)
    for f in METRIC_FIELDS:
        total = sum(c[f] for c in copies)
        if f in LATENCY_METRICS and workers is None:
            total = total / k
        out[f] = out[f] + total
    right = sum(c["ok"].astype(int) for c in copies)
    out["ok"] = out["ok"] & (right >= (k + 1) // 2)
    return out


__all__ = ["fresh", "repeat_groups", "vote_runs"]
