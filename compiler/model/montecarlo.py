"""Monte Carlo simulation of a plan's execution under the model (docs/model.md).

Written independently of the closed forms in ``model.reliability`` and ``model.cost``: every
decision is played out — the input's mixture component is drawn, red-flagged samples are drawn
again, ahead-by-k votes are drawn batch by batch exactly as the emitted program draws them,
majority samples are counted, retries and verifier verdicts are drawn one try at a time, and a
router's classifier runs before its op. Binomial draws stand for a batch of independent samples
(exactly the same distribution). Decisions are simulated in vectorized blocks with numpy, runs
side by side, so chains of millions of steps are feasible.

Only the plan's reading of the spec is shared with the cost model (sizes, formulas evaluated at
x, chosen models and boosters): the probabilities and the composition are sampled, not computed.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from fractions import Fraction
from typing import Any

from aalp import codes
from aalp.diagnostics import AalpError
from aalp.front.ir import ChainStage, MapStage, ReduceStage, Task
from aalp.front.nesting import enclosing, enclosing_chain, input_stage
from aalp.front.numbers import exact
from aalp.model.metrics import METRIC_FIELDS
from aalp.model.montecarlo_beam import play_expand
from aalp.model.montecarlo_repeat import fresh, repeat_groups, vote_runs
from aalp.model.repeat import repeat_counts
from aalp.model.repeat_choice import resolve
from aalp.model.schedule import rounds
from aalp.model.speeds import NO_PACE, Pace
from aalp.plan.context import Context, build_context
from aalp.plan.decisions import read_choice, read_x, shared_x_ops
from aalp.plan.plan import Choice, DecisionError
from aalp.plan.shape import chunk_count

BLOCK = 1 << 18  # decisions simulated at once
Z95 = 1.959963984540054  # the 97.5% quantile of the standard normal
MAX_DECISIONS = 2 * 10**9  # beyond this a simulation would take too long: refuse clearly


class SimulationError(AalpError, ValueError):
    """The plan cannot be simulated (too large, or not runnable under the model)."""

    code = codes.CANNOT_SIMULATE


@dataclass(frozen=True)
class Dist:
    """The empirical distribution of one metric over the runs."""

    mean: float
    std: float
    stderr: float
    q05: float
    q50: float
    q95: float

    def interval(self, z: float = Z95) -> tuple[float, float]:
        return self.mean - z * self.stderr, self.mean + z * self.stderr


@dataclass(frozen=True)
class SimResult:
    """Empirical success (with its Wilson interval) and metric distributions over ``runs``."""

    runs: int
    seed: int
    successes: int
    metrics: dict[str, Dist]

    @property
    def success(self) -> float:
        return self.successes / self.runs

    def wilson(self, z: float = Z95) -> tuple[float, float]:
        """Wilson score interval for the success probability."""
        return wilson(self.successes, self.runs, z)


# The most decisions one call of ``simulate`` plays (about a minute at a few million a second).
DECISION_LIMIT = 1_000_000_000  # about three minutes on one core


def wilson(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval of a binomial proportion."""
    if n == 0:
        return 0.0, 1.0
    p = successes / n
    denom = 1 + z * z / n
    center = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    lo = 0.0 if successes == 0 else max(0.0, center - half)
    hi = 1.0 if successes == n else min(1.0, center + half)
    return lo, hi


# ---------------------------------------------------------------------------------------------
# the plan as groups of identical decisions
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OpDraw:
    """What one decision of an op needs to be played out."""

    weights: tuple[float, ...]
    success: tuple[float, ...]
    rival: tuple[float, ...]
    keep: float
    choice: Choice
    verifier_success: float = 1.0  # c (retry until an LLM verifier)
    verifier_keep: float = 1.0


@dataclass(frozen=True)
class CallShape:
    """One call's size on its model."""

    size: float
    reads: float
    writes: float
    price_in: float
    price_out: float
    quadratic: bool = False  # the prefill costs m·R·(R − 1)/2 too (model.md §1)
    pace: Pace = NO_PACE  # its model's speed (zero without one: the plan's seconds are unknown)
    per_call: float = 0.0  # a tool's dollars per call (docs/model.md §1, tools)

    @property
    def seconds(self) -> float:
        """One call's seconds without a conversation's extra reads."""
        return self.pace.seconds(self.reads, self.writes)


def _dollars_total(c: CallShape, s_sum, sh_sum):
    """The dollars of ``s_sum`` calls of shape ``c`` whose extra conversation reads total
    ``sh_sum``: tokens at the model's prices, plus a tool's price per call."""
    tokens = c.price_in * (s_sum * c.reads + sh_sum) + c.price_out * s_sum * c.writes
    return tokens / 1e6 + s_sum * c.per_call


def _cost_total(c: CallShape, s_sum, sh_sum, sq_sum):
    """The cost of ``s_sum`` calls of shape ``c`` whose extra conversation reads total
    ``sh_sum`` (``sq_sum``: their squares), counted call by call: a call reading
    R = reads + e tokens and writing W costs m·(R·W + W·(W − 1)/2), plus m·R·(R − 1)/2 under
    quadratic attention, and Σ R·(R − 1) = s·r·(r − 1) + (2r − 1)·Σe + Σe²."""
    r, w = c.reads, c.writes
    linear = s_sum * (r * w + w * (w - 1) / 2) + sh_sum * w
    if not c.quadratic:
        return c.size * linear
    return c.size * (linear + (s_sum * r * (r - 1) + sh_sum * (2 * r - 1) + sq_sum) / 2)


@dataclass(frozen=True)
class Group:
    """``count`` decisions of one op at one x in one stage (with their classifier, if any)."""

    stage: int
    count: int
    draw: OpDraw
    call: CallShape
    verifier: CallShape | None
    history: tuple[float, float] | None  # (before, per-step tokens) of a chain with history
    classifier: Group | None
    parallel: bool  # map / tree level (latency: one chunk's) vs chain (sum)
    latency_group: int  # groups sharing this id form one chunk (their latencies add)
    # which decisions an item's result rests on (``montecarlo_items``): ("chunk", data, x,
    # stride) for a map, ("prefix", data, x) for a chain, ("node", data, u, f, level) for
    # a tree level over the outputs of a stage over data; ("within", outer path, outer
    # count) for a nested stage: its decisions in blocks, one per chunk of the top-level stage
    # it is nested in (that stage's path and chunk count)
    path: tuple = ()
    # a nested stage: (runs, workers of one run, latency factor of the enclosing chunks)
    nest: tuple[int, float | None, float] | None = None


def _draw(ctx: Context, op: str, x: int, choice: Choice, node: Mapping[str, float]) -> OpDraw:
    o = ctx.op(op)
    outcomes = o.success
    for ms in o.success_on:
        if ms.model == choice.model:
            outcomes = ms.outcomes
    weights = tuple(ctx.formula(out.weight, x, node) for out in outcomes)
    succ = tuple(ctx.formula(out.p, x, node) for out in outcomes)
    if o.rival is None:
        rival = tuple(1 - a for a in succ)
    else:
        b = ctx.formula(o.rival, x, node)
        rival = tuple(min(b, 1 - a) for a in succ)
    keep = 1.0
    if o.red_flag is not None and o.red_flag.keep is not None:
        keep = ctx.formula(o.red_flag.keep, x, node)
    c = vkeep = 1.0
    if choice.checker is not None:  # a retry's verifier or a vote's judge
        vop = ctx.op(choice.checker)
        vout = vop.success
        for ms in vop.success_on:
            if ms.model == choice.verifier_model:
                vout = ms.outcomes
        c = math.fsum(ctx.formula(w.weight, x) * ctx.formula(w.p, x) for w in vout)
        if vop.red_flag is not None and vop.red_flag.keep is not None:
            vkeep = ctx.formula(vop.red_flag.keep, x)
    return OpDraw(weights, succ, rival, keep, choice, c, vkeep)


def _shape(ctx: Context, op: str, x: int, model: str, node: Mapping[str, float] = {}) -> CallShape:
    info = ctx.models[model]
    return CallShape(
        info.size,
        ctx.formula(ctx.op(op).reads, x, node),
        ctx.formula(ctx.op(op).writes, x, node),
        info.price_in,
        info.price_out,
        info.quadratic,
        info.pace or NO_PACE,
        info.price_call,
    )


def _count_windows(n: Any, x: int, overlap: Any) -> int:
    """Chunks of a stage, by walking the windows when that is cheap (else by the plan's
    formula, ``aalp.plan.shape.chunk_count``). The walk, and the level-by-level walk of a
    reduce tree in ``plan_groups``, are written here on purpose instead of read from the plan:
    they check the plan's counts independently."""
    if overlap is None:
        return -((-Fraction(n)) // x) if not isinstance(n, float) else math.ceil(n / x)
    rho = Fraction(overlap) if not isinstance(overlap, float) else overlap
    stride = x * (1 - rho)
    if n / stride < 10**6:
        start, count = 0, 1
        while start + x < n:
            start += stride
            count += 1
        return count
    return chunk_count(n, x, rho)


def plan_groups(ctx: Context, decisions: Mapping[str, Any]) -> tuple[list[Group], list[Any]]:
    """The plan as groups of identical decisions, and per stage its ``success`` override
    (a probability drawn once per run) or None."""
    groups: list[Group] = []
    overrides: list[Any] = []
    lat_id = 0
    linear: dict[int, tuple[int, int, Any, str]] = {}  # map or chain: chunks, x, N, data
    paths: dict[int, tuple] = {}
    nests: dict[int, tuple[int, float | None, float]] = {}
    for index, stage in enumerate(ctx.task.stages):
        overrides.append(None)
        nest = _nest(ctx, index, linear, nests)
        start = len(groups)
        match stage:
            case MapStage() | ChainStage():
                shared = shared_x_ops(ctx, stage)
                given = [op for op in shared if f"{op}.x" in decisions]
                x = read_x(ctx, decisions, given[0] if given else shared[0]) if shared else None
                n = ctx.count(stage.over)
                overlap = (
                    exact(stage.overlap, ctx.env)
                    if isinstance(stage, MapStage) and stage.overlap is not None
                    else None
                )
                chunks = _count_windows(n, x, overlap) if x is not None else int(n)
                chunks = int(chunks)
                linear[index] = (chunks, x or 1, n, stage.over)
                if nest is not None:
                    chunks *= nest[0]  # once per run (plan/nested.py)
                history = None
                if isinstance(stage, ChainStage):
                    history = stage.history
                    if history == "choose":
                        history = next(
                            str(decisions[f"{o}.history"])
                            for o in stage.ops
                            if f"{o}.history" in decisions
                        )
                lat_id += 1
                step = 0.0
                if isinstance(stage, ChainStage):
                    path: tuple = ("prefix", stage.over, x or 1)
                else:
                    stride = (x or 1) if overlap is None else (x or 1) * (1 - overlap)
                    path = ("chunk", stage.over, x or 1, stride)
                xs = {op: (x if op in shared else read_x(ctx, decisions, op)) for op in stage.ops}
                for op in stage.ops:
                    s = _shape(ctx, op, xs[op], read_choice(ctx, decisions, op).model)
                    step += s.reads + s.writes
                before = 0.0
                for op in stage.ops:
                    groups.append(
                        _group(
                            ctx,
                            decisions,
                            index,
                            op,
                            xs[op],
                            chunks,
                            isinstance(stage, MapStage),
                            lat_id,
                            (before, step) if history == "full" else None,
                            path=path,
                        )
                    )
                    s = groups[-1].call
                    before += s.reads + s.writes
                paths[index] = path
                overrides[-1] = _override(ctx, stage, x, linear[index][0], nest)
            case ReduceStage():
                level_groups = _reduce_groups(ctx, decisions, index, linear, lat_id, nest)
                groups.extend(level_groups)
                lat_id += len(level_groups)
        if nest is not None:
            top = enclosing_chain(ctx.task, index)[-1]
            within = ("within", paths[top], linear[top][0])
            groups[start:] = [_nested_group(g, nest, within) for g in groups[start:]]
    return groups, overrides


def _override(ctx: Context, stage: Any, x: Any, chunks: int, nest: tuple | None) -> Any:
    """A map's own ``success`` formula at its x and chunks (None without one); every run of a
    nested map must come out right, each independently: p to the power of the runs."""
    if not isinstance(stage, MapStage) or stage.success is None:
        return None
    p = ctx.formula(stage.success, x, {"calls": float(chunks)})
    return p ** (1 if nest is None else nest[0])


def _reduce_groups(ctx, decisions, index, linear, lat_id, nest) -> list[Group]:
    """A reduce tree's groups over the outputs of its input stage (in its block), played
    once per run when it is nested."""
    stage = ctx.task.stages[index]
    prev = input_stage(ctx.task, index)
    if prev is None:
        raise SimulationError(f"reduce '{stage.op}' has no map or chain stage before it")
    level_groups = _tree_groups(ctx, decisions, index, stage, linear[prev], lat_id)
    return level_groups if nest is None else [_times(g, nest[0]) for g in level_groups]


def _times(g: Group, runs: int) -> Group:
    """A group (and its classifier) played ``runs`` times."""
    cls = None if g.classifier is None else _times(g.classifier, runs)
    return replace(g, count=g.count * runs, classifier=cls)


def _nested_group(g: Group, nest: tuple, within: tuple) -> Group:
    """A group of a nested stage (and its classifier) with its nesting and item path."""
    cls = None if g.classifier is None else _nested_group(g.classifier, nest, within)
    return replace(g, nest=nest, path=within, classifier=cls)


def _nest(ctx: Context, index: int, linear: dict, nests: dict) -> tuple | None:
    """(runs, workers of one run, latency factor) of a nested stage, from the simulation's own
    chunk counts of its enclosing stages (the rules of docs/model.md §3, nested stages)."""
    parent = enclosing(ctx.task, index)
    if parent is None:
        return None
    runs, w, factor = nests.get(parent, (1, ctx.workers, 1.0))
    chunks = linear[parent][0]
    if isinstance(ctx.task.stages[parent], ChainStage):
        out = (runs * chunks, w, factor * chunks)
    else:
        # the running chunks split the pool; the chunks run in ceil(C/w) rounds
        share = None if w is None else float(max(1, int(w // max(1, min(chunks, int(w))))))
        out = (runs * chunks, share, factor * rounds(chunks, w))
    nests[index] = out
    return out


def _tree_groups(ctx, decisions, index, stage, last_linear, lat_id) -> list[Group]:
    """A reduce tree's levels, walked one by one until one node is left."""
    op = stage.op
    fanin = (
        int(exact(stage.fanin, ctx.env))
        if stage.fanin is not None
        else int(decisions[f"{op}.fanin"])
    )
    nodes, cover, n, over = last_linear
    unit, level = cover, 0
    out = []
    while nodes > 1:
        nodes = -(-nodes // fanin)
        cover *= fanin
        level += 1
        lat_id += 1
        node = {"fanin": float(fanin), "level": float(level), "calls": float(nodes)}
        path = ("node", over, unit, fanin, level)
        x = int(min(n, cover))
        out.append(_group(ctx, decisions, index, op, x, nodes, True, lat_id, None, node, path))
    return out


def _group(
    ctx, decisions, index, op, x, count, parallel, lat_id, history, node=None, path=()
) -> Group:
    """``node``: a reduce node's fanin, level and calls, for the op's own formulas."""
    choice = read_choice(ctx, decisions, op)
    classifier = None
    if ctx.routed(op, choice.model):
        cls_op = ctx.routes[op]
        classifier = _group(
            ctx, decisions, index, cls_op, x, count, parallel, lat_id, None, path=path
        )
    verifier = None
    node = node or {}
    if choice.kind == "retry" and choice.check not in (None, "exact"):
        verifier = _shape(ctx, choice.check, x, choice.verifier_model or "")
    if choice.kind == "expand" and choice.checker is not None:
        scorer = _shape(ctx, choice.checker, x, choice.verifier_model or "")
        verifier = replace(scorer, reads=scorer.reads + ctx.formula(ctx.op(op).writes, x, node))
    if choice.kind == "judge" and choice.judge is not None:
        judge = _shape(ctx, choice.judge, x, choice.verifier_model or "")
        candidates = int(choice.votes or 1) * ctx.formula(ctx.op(op).writes, x, node)
        verifier = replace(judge, reads=judge.reads + candidates)
    return Group(
        index,
        count,
        _draw(ctx, op, x, choice, node),
        _shape(ctx, op, x, choice.model, node),
        verifier,
        history,
        classifier,
        parallel,
        lat_id,
        path,
    )


# ---------------------------------------------------------------------------------------------
# playing decisions out
# ---------------------------------------------------------------------------------------------


def _geometric_total(rng, tries, p):
    """Draws needed to get ``tries`` successes of probability p each (tries + failures)."""
    import numpy as np

    tries = np.asarray(tries)
    if p >= 1.0:
        return tries.astype(np.int64)
    out = tries.astype(np.int64).copy()
    pos = tries > 0
    out[pos] += rng.negative_binomial(tries[pos], p)
    return out


def play(draw: OpDraw, n: int, rng) -> dict[str, Any]:
    """Play out n independent decisions; arrays ``ok``, ``samples``, ``rounds``, ``vsamples``,
    ``vrounds`` (verifier calls and their rounds)."""
    import numpy as np

    comp = (
        rng.choice(len(draw.weights), size=n, p=np.asarray(draw.weights) / sum(draw.weights))
        if len(draw.weights) > 1
        else np.zeros(n, dtype=np.int64)
    )
    a = np.asarray(draw.success)[comp]
    b = np.asarray(draw.rival)[comp]
    zeros = np.zeros(n, dtype=np.int64)
    match draw.choice.kind:
        case "none":
            samples = _geometric_total(rng, np.ones(n, dtype=np.int64), draw.keep)
            ok, rounds = rng.random(n) < a, samples
        case "ahead_by":
            ok, samples, rounds = _play_ahead_by(draw, a, b, n, rng)
        case "majority":
            ok, samples, rounds = _play_majority(draw, a, n, rng)
        case "retry":
            return _play_retry(draw, a, n, rng)
        case "judge":
            return play_judge(draw, a, n, rng)
        case "expand":
            boost = draw.choice.boost
            return play_expand(draw, a, n, rng, boost.keep, boost.depth)
        case kind:
            raise SimulationError(f"unknown booster {kind!r}")
    return dict(ok=ok, samples=samples, rounds=rounds, vsamples=zeros, vrounds=zeros)


def _play_ahead_by(draw: OpDraw, a, b, n: int, rng):
    """Ahead-by-k, batch by batch as the emitted program draws: each round draws the samples
    that could still end the race at best."""
    import numpy as np

    k = int(draw.choice.votes or 1)
    v = draw.keep
    lead = np.zeros(n, dtype=np.int64)
    samples = np.zeros(n, dtype=np.int64)
    rounds = np.zeros(n, dtype=np.int64)
    active = np.arange(n)
    up_p, down_p = a * v, b * v
    while active.size:
        batch = k - np.abs(lead[active])
        up = rng.binomial(batch, up_p[active])
        rest_p = np.where(
            up_p[active] < 1, down_p[active] / np.maximum(1 - up_p[active], 1e-300), 0.0
        )
        down = rng.binomial(batch - up, np.minimum(rest_p, 1.0))
        lead[active] += up - down
        samples[active] += batch
        rounds[active] += 1
        active = active[np.abs(lead[active]) < k]
    return lead >= k, samples, rounds


def _play_majority(draw: OpDraw, a, n: int, rng):
    """Majority of K: K valid samples, red-flagged ones drawn again round by round."""
    import numpy as np

    K = int(draw.choice.votes or 1)
    v = draw.keep
    right = rng.binomial(K, a)
    samples = _geometric_total(rng, np.full(n, K), v)
    rounds = np.zeros(n, dtype=np.int64)
    remaining = np.full(n, K, dtype=np.int64)
    while (remaining > 0).any():
        rounds += remaining > 0
        remaining -= rng.binomial(remaining, v)
    return 2 * right > K, samples, rounds


def play_judge(draw: OpDraw, a, n: int, rng) -> dict[str, Any]:
    """Best of N picked by a judge: N valid samples drawn at once (red-flagged ones again,
    round by round, as for majority), G of them right; with 0 < G < N the judge's verdict is
    drawn (right w.p. c), all right always wins, none right always loses. One judge call per
    decision (again while red-flagged), none when N = 1."""
    import numpy as np

    N = int(draw.choice.votes or 1)
    v = draw.keep
    right = rng.binomial(N, a)
    samples = _geometric_total(rng, np.full(n, N), v)
    rounds = np.zeros(n, dtype=np.int64)
    remaining = np.full(n, N, dtype=np.int64)
    while (remaining > 0).any():
        rounds += remaining > 0
        remaining -= rng.binomial(remaining, v)
    verdict = rng.random(n) < draw.verifier_success
    ok = (right == N) | ((right > 0) & verdict)
    calls = np.full(n, 1 if N > 1 else 0, dtype=np.int64)
    vsamples = _geometric_total(rng, calls, draw.verifier_keep)
    return dict(ok=ok, samples=samples, rounds=rounds, vsamples=vsamples, vrounds=vsamples)


#: the most tries of one decision the retry loop plays, one vector step per try
MAX_TRIES = 1_000_000


def _play_retry(draw: OpDraw, a, n: int, rng) -> dict[str, Any]:
    """Retries, one try at a time, each judged by the exact check or a drawn verdict."""
    import numpy as np

    ch = draw.choice
    limit = math.inf if ch.retries == "inf" else int(ch.retries or 1)
    exact_check = ch.check in (None, "exact")
    c = draw.verifier_success
    accept_p = a if exact_check else a * c + (1 - a) * (1 - c)
    if limit == math.inf and (accept_p <= 0).any():
        raise SimulationError("unbounded retries that can never end (success 0)")
    least = float(np.min(accept_p))
    if min(limit, 1.0 / least if least > 0 else math.inf) > MAX_TRIES:
        raise SimulationError(
            f"a decision's tries are accepted with probability {least:.3g}: about "
            f"{1 / least:.3g} tries each, too many to play one at a time"
        )
    ok = np.zeros(n, dtype=bool)
    done = np.zeros(n, dtype=bool)
    tries = np.zeros(n, dtype=np.int64)
    t = 0
    while not done.all() and t < limit:
        t += 1
        live = ~done
        tries[live] += 1
        right = rng.random(n) < a
        if exact_check:
            accept = right
        else:
            verdict_ok = rng.random(n) < c
            accept = np.where(right, verdict_ok, ~verdict_ok)
        newly = live & accept
        ok |= newly & right
        done |= newly
    samples = _geometric_total(rng, tries, draw.keep)
    zeros = np.zeros(n, dtype=np.int64)
    vsamples = zeros if exact_check else _geometric_total(rng, tries, draw.verifier_keep)
    return dict(ok=ok, samples=samples, rounds=samples, vsamples=vsamples, vrounds=vsamples)


def _accumulate(
    group: Group, runs: int, rng, out: dict[str, Any], tick=None, track_ok=True
) -> None:
    """Add one group's decisions to the per-run totals in ``out``.

    Long because every metric of a block of draws (calls, tokens, dollars, latency, seconds,
    history, verifier) is summed in one pass over the block's arrays, which stay local."""
    import numpy as np

    total = group.count * runs
    if total > MAX_DECISIONS:
        raise SimulationError(
            f"{total:.3g} decisions to simulate; use fewer runs or a smaller size"
        )
    per_run_block = max(1, BLOCK // max(1, group.count))
    c, vcall = group.call, group.verifier
    for r0 in range(0, runs, per_run_block):
        r1 = min(runs, r0 + per_run_block)
        nr = r1 - r0
        ok = np.ones(nr, dtype=bool)
        s_sum = np.zeros(nr)
        sh_sum = np.zeros(nr)
        sq_sum = np.zeros(nr)
        rounds = np.zeros(nr)
        rh_sum = np.zeros(nr)  # rounds times the conversation's extra reads (seconds)
        vs_sum = np.zeros(nr)
        vr_sum = np.zeros(nr)
        for c0 in range(0, group.count, BLOCK):
            c1 = min(group.count, c0 + BLOCK)
            width = c1 - c0
            res = play(group.draw, nr * width, rng)
            shape = (nr, width)
            samples = res["samples"].reshape(shape).astype(float)
            ok &= res["ok"].reshape(shape).all(axis=1)
            s_sum += samples.sum(axis=1)
            if group.history is not None:
                before, step = group.history
                steps = np.arange(c0, c1, dtype=float)
                if group.nest is not None:  # each run of a nested chain has its own history
                    steps %= group.count // group.nest[0]
                extra = before + step * steps  # step j reads (j−1)·G
                sh_sum += samples @ extra
                sq_sum += samples @ (extra * extra)
                rh_sum += res["rounds"].reshape(shape).astype(float) @ extra
            rounds += res["rounds"].reshape(shape).sum(axis=1)
            vs_sum += res["vsamples"].reshape(shape).sum(axis=1)
            vr_sum += res["vrounds"].reshape(shape).sum(axis=1)
            if tick is not None:
                tick(nr * width)
        sl = slice(r0, r1)
        if track_ok:  # a stage's own success formula replaces its decisions' (model.md §3)
            out["ok"][sl] &= ok
        out["calls"][sl] += s_sum + vs_sum
        out["forward_passes"][sl] += s_sum * c.writes
        out["cost"][sl] += _cost_total(c, s_sum, sh_sum, sq_sum)
        out["tokens"][sl] += s_sum * (c.reads + c.writes) + sh_sum
        out["dollars"][sl] += _dollars_total(c, s_sum, sh_sum)
        lat = rounds * c.writes
        lat_calls = rounds.copy()
        secs = rounds * c.seconds + rh_sum * c.pace.per_read
        if vcall is not None:
            out["forward_passes"][sl] += vs_sum * vcall.writes
            out["cost"][sl] += _cost_total(vcall, vs_sum, 0.0, 0.0)
            out["tokens"][sl] += vs_sum * (vcall.reads + vcall.writes)
            out["dollars"][sl] += _dollars_total(vcall, vs_sum, 0.0)
            lat += vr_sum * vcall.writes
            lat_calls += vr_sum
            secs += vr_sum * vcall.seconds
        key = group.latency_group
        acc = out["chunk_latency"].setdefault(
            key,
            [
                np.zeros(runs),
                np.zeros(runs),
                group.count,
                group.parallel,
                group.nest,
                np.zeros(runs),
            ],
        )
        acc[0][sl] += lat
        acc[1][sl] += lat_calls
        acc[5][sl] += secs


def simulate(
    checked: Any,
    task: Task | str | None,
    decisions: Mapping[str, Any],
    runs: int = 1000,
    seed: int = 0,
    progress: Callable[[int, int], None] | None = None,
) -> SimResult:
    """Run the plan ``runs`` times under the model; empirical success and metric distributions.

    ``progress(done, total)`` is called after each block of decisions is simulated.
    """
    import numpy as np

    if runs < 1:
        raise SimulationError("runs must be at least 1")
    if not isinstance(checked, Context):  # repeat ... choose: K from the decisions
        checked, task = resolve(checked, task, decisions)
    ctx = checked if isinstance(checked, Context) else build_context(checked, task)
    groups, overrides = plan_groups(ctx, decisions)
    rng = np.random.default_rng(seed)
    out: dict[str, Any] = {f: np.zeros(runs) for f in METRIC_FIELDS}
    out["ok"] = np.ones(runs, dtype=bool)
    out["chunk_latency"] = {}
    all_groups: list[Group] = []
    for g in groups:
        chain = [g]
        while chain[-1].classifier is not None:
            chain.append(chain[-1].classifier)
        all_groups.extend(reversed(chain))
    total = sum(g.count for g in all_groups) * runs
    if total > DECISION_LIMIT:
        raise SimulationError(
            f"{runs} runs of this plan simulate {total:.3g} decisions, more than the limit of"
            f" {DECISION_LIMIT:.0e} (a few minutes): shrink the task with -D or use fewer --runs"
        )
    done = 0

    def tick(n: int) -> None:
        nonlocal done
        done += n
        if progress is not None:
            progress(done, total)

    repeated = repeat_groups(ctx)
    runner = functools.partial(_run, ctx, overrides=overrides, runs=runs, rng=rng, tick=tick)
    plain = [i for i in range(len(overrides)) if i not in repeated]
    out = runner(plain, [g for g in all_groups if g.stage not in repeated], out)
    for index, k in repeat_counts(ctx).items():
        stages = [i for i, r in repeated.items() if r == index]
        copies = [g for g in all_groups if g.stage in stages]
        out = vote_runs(out, [runner(stages, copies, fresh(runs)) for _ in range(k)], ctx.workers)
    metrics = {}
    for f in METRIC_FIELDS:
        values = out[f]
        std = float(values.std(ddof=1)) if runs > 1 else 0.0
        q05, q50, q95 = (float(q) for q in np.quantile(values, [0.05, 0.5, 0.95]))
        metrics[f] = Dist(float(values.mean()), std, std / math.sqrt(runs), q05, q50, q95)
    return SimResult(runs, seed, int(out["ok"].sum()), metrics)


def _run(ctx: Context, stages, groups, out: dict[str, Any], *, overrides, runs, rng, tick):
    """Play the ``groups`` of ``stages`` into the per-run totals ``out`` (their latencies
    summed in, each stage's success formula drawn); ``out``."""
    for g in groups:
        _accumulate(g, runs, rng, out, tick, track_ok=overrides[g.stage] is None)
    for stage in stages:
        if overrides[stage] is not None:
            out["ok"] &= rng.random(runs) < overrides[stage]
    for lat, lat_calls, count, parallel, nest, secs in out["chunk_latency"].values():
        # a nested stage: one run's latency (its decisions' share), times the factor of the
        # chunks it runs in, on the workers one run has
        runs_of, workers, outer = nest or (1, ctx.workers, 1.0)
        lat, lat_calls, secs, count = (
            lat / runs_of * outer,
            lat_calls / runs_of * outer,
            secs / runs_of * outer,
            count // runs_of,
        )
        if parallel and count:
            # model.md §3: a parallel map's latency is one chunk's expected latency (the mean
            # over its chunks), times the ceil(C/w) rounds of the list schedule of equal chunks
            factor = rounds(count, workers)
            mean, mean_calls = lat / count * factor, lat_calls / count * factor
            out["latency"] += mean
            out["latency_calls"] += mean_calls
            out["seconds"] += secs / count * factor
        else:
            out["latency"] += lat
            out["latency_calls"] += lat_calls
            out["seconds"] += secs
    out["chunk_latency"] = {}
    return out


__all__ = [
    "DecisionError",
    "Dist",
    "SimResult",
    "SimulationError",
    "plan_groups",
    "play",
    "simulate",
    "wilson",
]
