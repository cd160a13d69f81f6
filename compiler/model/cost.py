"""The cost model: the metrics and success of one fully decided plan (docs/model.md).

``evaluate(checked, task, decisions)`` is the one source of truth for cost: the optimizer,
``explain``, the topology, the simulator's predictions and emitted headers all use it. Pieces
the optimizer combines while searching are public too: ``build_context`` (once per task),
``decision_eval`` (one op at one granularity with one model and booster) and ``stage_eval``
(one stage under the decisions it reads, listed by ``stage_keys``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from aalp.front.expr import EvalError
from aalp.front.ir import ChainStage, MapStage, ReduceStage, Task
from aalp.front.numbers import exact
from aalp.model import beam
from aalp.model import judge as judged
from aalp.model import reliability as rel
from aalp.model.frames import Frame, Slot, frame_of
from aalp.model.items import accuracy_floor, expected_errors
from aalp.model.metrics import Evaluation, Metrics, OpEval, RequirementCheck, StageEval
from aalp.model.repeat import apply_repeats, repeat_counts
from aalp.model.repeat_choice import resolve
from aalp.model.speeds import Pace, known_seconds, seconds_notes
from aalp.plan.build import build_plan
from aalp.plan.context import Context, build_context
from aalp.plan.decisions import read_choice
from aalp.plan.plan import Choice, DecisionError, Plan
from aalp.plan.shape import stage_shape

__all__ = [
    "ASSUMPTIONS",
    "Choice",
    "Context",
    "DecisionError",
    "DecisionEval",
    "Evaluation",
    "Metrics",
    "build_context",
    "call_metrics",
    "decision_eval",
    "evaluate",
    "read_choice",
    "stage_eval",
    "stage_keys",
]

ASSUMPTIONS = (
    "errors are independent across calls (samples are independent given the input's kind)",
    "the last chunk of a stage is costed as a full chunk",
    "latency of a parallel map is one chunk's expected latency (with workers w, ceil(C/w)"
    " rounds of it: the list schedule of C equal chunks)",
)

_FAILED = rel.Boosted(0.0, 1.0, math.inf, math.inf, math.inf)


def call_metrics(
    m: Any,
    reads: Any,
    writes: Any,
    price_in: Any,
    price_out: Any,
    quadratic: bool = False,
    spread: Any = 0,
    pace: Pace | None = None,
    per_call: Any = 0,
) -> Metrics:
    """One call (model.md §1): 1 call, W passes, ``m·(R·W + W·(W−1)/2)``, R + W tokens,
    ``(price_in·R + price_out·W)/10^6`` dollars, latency W passes and 1 call.

    Under quadratic attention the prefill is charged too: each of the R tokens read costs m
    times the tokens before it, ``m·R·(R−1)/2`` more, so the call costs ``m·(R+W)·(R+W−1)/2``.
    A tool's call (``per_call`` its price) reads and writes nothing: 1 call, 0 passes, 0
    cost, 0 tokens, ``per_call`` dollars, its latency in seconds (its pace's overhead).
    When ``reads`` is the mean over calls whose reads vary (a conversation), ``spread`` is
    their variance: the mean of ``R·(R−1)`` is ``R̄·(R̄−1) + spread``.

    Written with plain arithmetic so that it works on floats and on sympy expressions alike.

    >>> call_metrics(2, 10, 3, 0, 0).cost, call_metrics(2, 10, 3, 0, 0, quadratic=True).cost
    (66.0, 156.0)
    """
    cost = m * (reads * writes + writes * (writes - 1) / 2)
    if quadratic:
        cost = cost + m * (reads * (reads - 1) + spread) / 2
    return Metrics(
        calls=1,
        forward_passes=writes,
        cost=cost,
        tokens=reads + writes,
        dollars=(price_in * reads + price_out * writes) / 1_000_000 + per_call,
        latency=writes,
        latency_calls=1,
        seconds=pace.seconds(reads, writes) if pace is not None else 0,
    )


@dataclass(frozen=True)
class DecisionEval:
    """One decision of an op at one call position: its success (with the router's classifier
    when one runs) and its expected metrics, with latency as the decision's critical path."""

    op: str
    x: int
    choice: Choice
    reads: float
    writes: float
    boosted: rel.Boosted
    metrics: Metrics
    op_metrics: Metrics  # the op's own samples
    verifier_metrics: Metrics | None
    classifier: DecisionEval | None
    problems: tuple[str, ...]

    @property
    def log_success(self) -> float:
        own = self.boosted.log_success
        return own + (self.classifier.log_success if self.classifier else 0.0)


def _p(value: float, what: str, problems: list[str]) -> float:
    if not 0.0 <= value <= 1.0 or math.isnan(value):
        problems.append(f"{what} = {value:g} is not a probability")
        return min(1.0, max(0.0, 0.0 if math.isnan(value) else value))
    return value


def _outcomes(ctx: Context, op: str, x: int, model: str, problems: list[str], env=None):
    """(weights, successes, rivals) of op on model at x (``env``: a reduce node's names)."""
    o = ctx.op(op)
    env = env or {}
    outcomes = o.success
    for ms in o.success_on:
        if ms.model == model:
            outcomes = ms.outcomes
    weights, succ = [], []
    for out in outcomes:
        weights.append(ctx.formula(out.weight, x, env))
        succ.append(_p(ctx.formula(out.p, x, env), f"success of '{op}' at x={x}", problems))
    if o.rival is None:
        rivals = [1.0 - a for a in succ]
    else:
        b = _p(ctx.formula(o.rival, x, env), f"rival of '{op}' at x={x}", problems)
        rivals = [min(b, 1.0 - a) for a in succ]
    return weights, succ, rivals


def _keep(ctx: Context, op: str, x: int, problems: list[str], env=None) -> float:
    env = env or {}
    rf = ctx.op(op).red_flag
    if rf is None:
        return 1.0
    if rf.max_writes is not None:
        # A response longer than the red flag's limit is always discarded: such an option
        # cannot run. Like a context overflow, it is a problem that makes the plan infeasible,
        # while its metrics stay those of the plan as written (a baseline's cost is still shown).
        limit = ctx.formula(rf.max_writes, x, env)
        writes = ctx.formula(ctx.op(op).writes, x, env)
        if writes > limit:
            problems.append(
                f"every response of '{op}' at x={x} writes {writes:.6g} tokens, more than its "
                f"red flag's limit of {limit:.6g}: all would be discarded"
            )
    if rf.keep is None:
        return 1.0
    v = _p(ctx.formula(rf.keep, x, env), f"red-flag keep of '{op}'", problems)
    if v <= 0.0:
        problems.append(f"red flags of '{op}' keep no sample (keep = 0)")
        return math.nan
    return v


def _boost(
    ctx: Context,
    op: str,
    x: int,
    choice: Choice,
    problems: list[str],
    latency: bool = True,
    env=None,
) -> rel.Boosted:
    weights, succ, rivals = _outcomes(ctx, op, x, choice.model, problems, env)
    v = _keep(ctx, op, x, problems, env)
    if math.isnan(v):
        return _FAILED
    parts: list[rel.Boosted] = []
    for a, b in zip(succ, rivals, strict=True):
        match choice.kind:
            case "none":
                part = rel.single(a, v)
            case "ahead_by":
                part = rel.ahead_by(a, b, choice.votes or 1, v, rounds=latency)
                if part is None:
                    problems.append(
                        f"ahead_by voting on '{op}' needs success > rival in every case, "
                        f"but success = {a:.6g} and rival = {b:.6g} at x={x}"
                    )
                    return _FAILED
            case "majority":
                part = rel.majority(a, choice.votes or 1, v)
            case "judge":
                c = _verifier_accuracy(ctx, choice, x, problems)
                part = judged.judge(a, c, choice.votes or 1, v)
            case "expand":
                c = _verifier_accuracy(ctx, choice, x, problems)
                keep, depth = ctx.beam(op)
                part = beam.boosted(a, c, choice.votes or 1, keep, depth, v)
            case "retry" if choice.check == "exact":
                part = rel.retry_exact(a, choice.retries or 1, v)
            case "retry":
                c = _verifier_accuracy(ctx, choice, x, problems)
                part = rel.retry_verifier(a, c, choice.retries or 1, v)
            case _:
                raise DecisionError(f"unknown booster '{choice.kind}'", f"{op}.vote")
        if part is None:
            problems.append(f"unbounded retries of '{op}' can never succeed (success 0)")
            return _FAILED
        parts.append(part)
    return rel.mixture(weights, parts) if len(parts) > 1 else parts[0]


def _verifier_accuracy(ctx: Context, choice: Choice, x: int, problems: list[str]) -> float:
    """The verifier's (or judge's) accuracy c: its success on its model (mixtures: the
    weighted mean)."""
    assert choice.checker is not None and choice.verifier_model is not None
    weights, succ, _ = _outcomes(ctx, choice.checker, x, choice.verifier_model, problems)
    return math.fsum(w * a for w, a in zip(weights, succ, strict=True))


def _booster_problems(ctx: Context, op: str, choice: Choice, problems: list[str]) -> None:
    """Is the booster allowed on the op, with a value inside its range?"""
    match choice.kind:
        case "expand":
            if ctx.expand_booster(op) is None:
                problems.append(f"'{op}' is no beam search")
        case "ahead_by" | "majority" | "judge":
            b = ctx.vote_booster(op, choice.kind)
            k = choice.votes or 0
            if b is None:
                problems.append(f"vote {choice.kind} is not allowed on '{op}'")
            elif b.max is not None and k > ctx.formula(b.max):
                problems.append(f"{op}.votes = {k} is above the allowed max {ctx.formula(b.max):g}")
            if k < 1:
                problems.append(f"{op}.votes = {k} must be at least 1")
            if choice.kind == "majority" and k % 2 == 0:
                problems.append(f"{op}.votes = {k}: majority needs an odd K")
        case "retry":
            b = ctx.retry_booster(op)
            r = choice.retries
            if b is None:
                problems.append(f"retry is not allowed on '{op}'")
            elif r == "inf":
                if b.max is not None:
                    problems.append(f"{op}.retries = inf but retries are bounded by max")
            elif b.max is not None and int(r or 0) > ctx.formula(b.max):
                problems.append(
                    f"{op}.retries = {r} is above the allowed max {ctx.formula(b.max):g}"
                )
            if r != "inf" and int(r or 0) < 1:
                problems.append(f"{op}.retries = {r} must be at least 1")


def _model_problems(ctx: Context, op: str, model: str, problems: list[str]) -> None:
    info = ctx.models.get(model)
    if info is None:
        problems.append(f"'{op}' is decided to run on unknown model '{model}'")
        return
    declared = ctx.op(op).models
    if declared and model not in declared:
        problems.append(f"'{op}' may run only on {', '.join(declared)}, not on '{model}'")
    elif not (info.allows(op) or ctx.routed(op, model)):
        why = (
            " (it can only if routed, and no route stage targets it)"
            if op in info.can_routed
            else ""
        )
        problems.append(f"model '{model}' cannot do '{op}'{why}")


def _context_problem(
    ctx: Context, op: str, model: str, reads: float, writes: float, problems: list[str]
) -> None:
    info = ctx.models.get(model)
    if info is not None and reads + writes > info.context:
        problems.append(
            f"'{op}' on '{model}' needs {reads:.6g} + {writes:.6g} = {reads + writes:.6g} tokens, "
            f"more than its context of {info.context:.6g}"
        )


def decision_eval(
    ctx: Context,
    op: str,
    x: int,
    choice: Choice,
    extra_reads: float = 0.0,
    max_extra: float | None = None,
    classifier: Choice | None = None,
    *,
    alone: bool = False,
    latency: bool = True,
    spread: float = 0.0,
    env: tuple[tuple[str, float], ...] = (),
) -> DecisionEval:
    """One decision of ``op`` at granularity ``x`` with the given model and booster.

    ``extra_reads`` adds the mean tokens read from a conversation (history full) to every
    sample's reads (metrics are affine in reads, so the mean gives the exact total);
    ``max_extra`` is the largest such addition, for the context check. ``classifier`` is the
    router's choice when the op's model needs it (model.md §3, route); ``alone`` leaves the
    router out (the optimizer chooses the two separately: their metrics add). ``latency=False``
    skips the rounds of ahead-by-k voting (latency and latency_calls are then NaN). ``spread``
    is the variance of the conversation's reads over the calls (quadratic attention makes cost
    depend on it; ``call_metrics``). ``env`` gives a reduce node's ``fanin``, ``level`` and
    ``calls`` to the op's formulas (``aalp.model.frames.node_env``).
    """
    key = (op, x, choice, extra_reads, max_extra, classifier, alone, latency, spread, env)
    hit = ctx.memo.get(key)
    if hit is not None:
        return hit
    if len(ctx.memo) > 200_000:  # the optimizer revisits the same decisions: keep, but bounded
        ctx.memo.clear()
    reads = (extra_reads, max_extra, spread)
    result = _decision_eval(ctx, op, x, choice, reads, classifier, alone, latency, dict(env))
    ctx.memo[key] = result
    return result


def _decision_eval(
    ctx: Context,
    op: str,
    x: int,
    choice: Choice,
    history: tuple[float, float | None, float],
    classifier: Choice | None,
    alone: bool,
    latency: bool,
    env: dict[str, float],
) -> DecisionEval:
    extra_reads, max_extra, spread = history
    problems: list[str] = []
    try:
        reads = ctx.formula(ctx.op(op).reads, x, env)
        writes = ctx.formula(ctx.op(op).writes, x, env)
    except EvalError as err:
        problems.append(f"cannot evaluate '{op}' at x={x}: {err}")
        reads = writes = math.inf
    _model_problems(ctx, op, choice.model, problems)
    _booster_problems(ctx, op, choice, problems)
    info = ctx.models.get(choice.model)
    if info is None or math.isinf(reads):
        return DecisionEval(
            op, x, choice, reads, writes, _FAILED, Metrics(), Metrics(), None, None, tuple(problems)
        )
    _context_problem(
        ctx,
        op,
        choice.model,
        reads + (max_extra if max_extra is not None else extra_reads),
        writes,
        problems,
    )
    try:
        boosted = _boost(ctx, op, x, choice, problems, latency, env)
    except EvalError as err:
        problems.append(f"cannot evaluate the success of '{op}' at x={x}: {err}")
        boosted = _FAILED
    one = call_metrics(
        info.size,
        reads + extra_reads,
        writes,
        info.price_in,
        info.price_out,
        info.quadratic,
        spread,
        info.pace,
        info.price_call,
    )
    op_metrics = one.scale(boosted.samples, boosted.rounds)
    metrics = op_metrics
    verifier_metrics = _checker_metrics(ctx, op, x, choice, boosted, writes, problems)
    if verifier_metrics is not None:
        metrics = metrics + verifier_metrics
    cls_eval = None
    if ctx.routed(op, choice.model) and not alone:
        cls_op = ctx.routes[op]
        if classifier is None:
            raise DecisionError(
                f"'{op}' on '{choice.model}' needs its router '{cls_op}'", f"{cls_op}.model"
            )
        cls_eval = decision_eval(ctx, cls_op, x, classifier, latency=latency)
        problems.extend(cls_eval.problems)
        metrics = cls_eval.metrics + metrics
    return DecisionEval(
        op,
        x,
        choice,
        reads,
        writes,
        boosted,
        metrics,
        op_metrics,
        verifier_metrics,
        cls_eval,
        tuple(problems),
    )


def _checker_metrics(
    ctx: Context,
    op: str,
    x: int,
    choice: Choice,
    boosted: rel.Boosted,
    writes: float,
    problems: list[str],
) -> Metrics | None:
    """The calls of the LLM op beside this one, if any: a retry's verifier (one per try), a
    beam's scorer (one per candidate) or a judge (one per decision)."""
    if choice.kind == "retry" and choice.check != "exact" and math.isfinite(boosted.tries):
        return _verifier_metrics(ctx, choice, x, boosted.tries, problems)
    if choice.kind == "expand" and math.isfinite(boosted.tries):
        # one scorer call per candidate, reading its prompt and the candidate; a level's
        # candidates are scored at once, so its latency is the levels' (model.md §2)
        keep, depth = ctx.beam(op)
        levels = [k * (choice.votes or 1) for k in beam.kept(choice.votes or 1, keep, depth)]
        return _verifier_metrics(ctx, choice, x, boosted.tries, problems, writes, levels)
    if choice.kind == "judge" and judged.judge_calls(choice.votes or 1):
        candidates = (choice.votes or 1) * writes  # the judge reads every candidate
        return _verifier_metrics(ctx, choice, x, 1.0, problems, candidates)
    return None


def _verifier_metrics(
    ctx: Context,
    choice: Choice,
    x: int,
    tries: float,
    problems: list[str],
    more: float = 0.0,
    levels: list[int] | None = None,
) -> Metrics:
    """The calls of a verifier (``tries`` per decision, in sequence), a judge (one) or a
    beam's scorer (``tries`` in all, ``levels`` the calls made at once, level by level), each
    reading its reads plus ``more`` (a judge's candidates, a scored candidate); red-flagged
    calls are drawn again."""
    vop = choice.checker
    assert vop is not None and choice.verifier_model is not None
    _model_problems(ctx, vop, choice.verifier_model, problems)
    info = ctx.models.get(choice.verifier_model)
    if info is None:
        return Metrics()
    reads = ctx.formula(ctx.op(vop).reads, x) + more
    writes = ctx.formula(ctx.op(vop).writes, x)
    _context_problem(ctx, vop, choice.verifier_model, reads, writes, problems)
    v = _keep(ctx, vop, x, problems)
    per_try = 1.0 / v if not math.isnan(v) else math.inf
    one = call_metrics(
        info.size,
        reads,
        writes,
        info.price_in,
        info.price_out,
        info.quadratic,
        pace=info.pace,
        per_call=info.price_call,
    )
    if levels is not None and not math.isnan(v):
        return one.scale(tries * per_try, math.fsum(rel.majority_rounds(k, v) for k in levels))
    return one.scale(tries * per_try)


# ---------------------------------------------------------------------------------------------
# stages
# ---------------------------------------------------------------------------------------------


def _classifier_choice(
    ctx: Context, decisions: Mapping[str, Any], op: str, choice: Choice
) -> Choice | None:
    if ctx.routed(op, choice.model):
        return read_choice(ctx, decisions, ctx.routes[op])
    return None


def _op_rows(stage: int, d: DecisionEval, slot: Slot) -> list[OpEval]:
    """Rows for the op, its verifier and its classifier at one slot: totals over the slot's
    decisions, latency the op's part of the stage's latency (so the rows add up to it)."""
    c = d.choice
    count, factor = slot.count, slot.latency_factor
    rows = [
        OpEval(
            stage,
            d.op,
            "op",
            c.model,
            c.kind,
            c.votes,
            c.retries,
            c.check if c.kind == "retry" else c.checker,
            d.x,
            d.reads,
            d.writes,
            slot.extra,
            count,
            d.boosted.samples,
            d.boosted.success,
            d.op_metrics.scale(count, factor),
            slot.level,
        )
    ]
    if d.verifier_metrics is not None and c.checker is not None:
        vm = d.verifier_metrics
        rows.append(
            OpEval(
                stage,
                c.checker,
                {"judge": "judge", "expand": "scorer"}.get(c.kind, "verifier"),
                c.verifier_model or "",
                "none",
                None,
                None,
                None,
                d.x,
                # every verifier call is alike: its reads and writes from the totals
                vm.tokens / vm.calls - vm.forward_passes / vm.calls if vm.calls else 0.0,
                vm.forward_passes / vm.calls if vm.calls else 0.0,
                0.0,
                count,
                vm.calls,
                1.0,  # its accuracy is folded into the success of the op it checks
                vm.scale(count, factor),
                slot.level,
            )
        )
    if d.classifier is not None:
        inner = Slot(d.classifier.op, slot.x, count, factor, level=slot.level)
        rows.extend(
            replace(r, role="classifier" if r.role == "op" else r.role)
            for r in _op_rows(stage, d.classifier, inner)
        )
    return rows


def stage_keys(ctx: Context, index: int) -> tuple[str, ...]:
    """The decision keys a stage may read (its ops' fields, a router's and a verifier's)."""
    stage = ctx.task.stages[index]
    ops: list[str] = []
    match stage:
        case MapStage(ops=names) | ChainStage(ops=names):
            ops = list(names)
        case ReduceStage(op=name):
            ops = [name]
        case _:
            return ()
    keys: list[str] = []
    for op in ops:
        extra = [ctx.routes[op]] if op in ctx.routes else []
        rb = ctx.retry_booster(op)
        if rb is not None and rb.check != "exact":
            extra.append(rb.check)
        jb = ctx.vote_booster(op, "judge")
        if jb is not None and jb.judge is not None:
            extra.append(jb.judge)
        eb = ctx.expand_booster(op)
        if eb is not None:
            extra.append(eb.scorer)
        for name in [op, *extra]:
            keys += [f"{name}.{f}" for f in ("x", "model", "vote", "votes", "retries")]
        if isinstance(stage, ReduceStage):
            keys.append(f"{op}.fanin")
        if isinstance(stage, ChainStage):
            keys.append(f"{op}.history")
    return tuple(dict.fromkeys(keys))


def slot_decision(
    ctx: Context, slot: Slot, choice: Choice, classifier: Choice | None
) -> DecisionEval:
    """One decision of the slot's op with the given choice (and its router's, if routed)."""
    return decision_eval(
        ctx,
        slot.op,
        slot.x,
        choice,
        slot.extra,
        slot.max_extra,
        classifier,
        spread=slot.spread,
        env=slot.env,
    )


def contribution(slot: Slot, d: DecisionEval) -> tuple[Metrics, float]:
    """What a slot adds to its stage: ``count`` decisions (latency × ``latency_factor``) and
    ``count`` times the decision's log success."""
    values, log = contribution_values(slot, d)
    return Metrics(*values), log


def contribution_values(slot: Slot, d: DecisionEval) -> tuple[tuple[float, ...], float]:
    """``contribution`` with the metrics as a tuple in the order of ``METRIC_FIELDS`` (the
    optimizer sums thousands of them)."""
    values = d.metrics.scaled(slot.count, slot.latency_factor)
    return values, rel.chain_log_success(d.log_success, slot.count)


def item_log(slot: Slot, d: DecisionEval) -> float:
    """What a slot adds to the bound on ln(accuracy): ``weight`` times the decision's log
    success (the decisions on one item's path, docs/model.md §3, items)."""
    return rel.chain_log_success(d.log_success, slot.weight)


def measure_log(ctx: Context, slot: Slot, d: DecisionEval) -> float:
    """The slot's part of the reliability the optimizer carries (``ctx.measure``)."""
    if ctx.measure == "accuracy":
        return item_log(slot, d)
    return rel.chain_log_success(d.log_success, slot.count)


def stage_eval(
    ctx: Context, index: int, decisions: Mapping[str, Any]
) -> tuple[StageEval, list[str]]:
    """One stage under ``decisions`` (only the keys of ``stage_keys`` and, for a reduce, the
    previous stage's x are read): its ``StageEval`` and its problems."""

    def classifier(op: str, choice: Choice) -> Choice | None:
        return _classifier_choice(ctx, decisions, op, choice)

    frame = frame_of(ctx, stage_shape(ctx, index, decisions))
    return _stage_eval(ctx, frame, lambda op: read_choice(ctx, decisions, op), classifier)


def _stage_eval(
    ctx: Context,
    frame: Frame,
    choice_of: Callable[[str], Choice],
    classifier_of: Callable[[str, Choice], Choice | None],
) -> tuple[StageEval, list[str]]:
    problems = list(frame.problems)
    metrics = Metrics()
    log_success = log_accuracy = 0.0
    rows: list[OpEval] = []
    for slot in frame.slots:
        choice = choice_of(slot.op)
        d = slot_decision(ctx, slot, choice, classifier_of(slot.op, choice))
        problems.extend(d.problems)
        m, log = contribution(slot, d)
        metrics = metrics + m
        log_success += log
        log_accuracy += item_log(slot, d)
        rows.extend(_op_rows(frame.shape.index, d, slot))
    if frame.log_success is not None:
        # the stage's own success formula: P(all right), a lower bound on every item's too
        log_success = log_accuracy = frame.log_success
    shape = frame.shape
    return StageEval(
        shape.index,
        shape.kind,
        shape.ops,
        shape.over,
        shape.chunks,
        shape.x,
        metrics,
        log_success,
        shape.history,
        shape.fanin,
        tuple(shape.levels),
        tuple(rows),
        log_accuracy,
        shape.within,
        shape.runs,
    ), problems


def _requirement_checks(
    ctx: Context, metrics: Metrics, log_success: float, log_accuracy: float = 0.0
) -> tuple[RequirementCheck, ...]:
    out = []
    for req in ctx.task.requirements:
        bound = exact(req.bound, ctx.env)
        fb = float(bound)
        if req.metric in ("accuracy", "errors"):
            n = ctx.count(ctx.items) if ctx.items is not None else 0
            # decided as precisely as a success: the failure near 1
            ok = rel.success_meets(log_accuracy, accuracy_floor(req.metric, bound, n))
            value = (
                math.exp(log_accuracy)
                if req.metric == "accuracy"
                else expected_errors(log_accuracy, n)
            )
        elif req.metric == "success":
            value = math.exp(log_success)
            meets = rel.success_meets(log_success, bound)
            # "<=" on success: at most the bound (the checker refuses it in specs)
            ok = meets if req.cmp == ">=" else (not meets or value == fb)
        else:
            value = float(getattr(metrics, req.metric))
            ok = value >= fb if req.cmp == ">=" else value <= fb
        out.append(RequirementCheck(req.metric, req.cmp, fb, value, ok))
    return tuple(out)


def _attention_notes(ctx: Context, stages: list[StageEval]) -> tuple[str, ...]:
    """An assumption per model of the plan costed with quadratic attention (model.md §1)."""
    used = dict.fromkeys(r.model for st in stages for r in st.op_evals)
    return tuple(
        f"model {name} has quadratic attention: a call that reads R tokens and writes W costs "
        f"size·(R+W)·(R+W−1)/2, its prefill included"
        for name in used
        if name in ctx.models and ctx.models[name].quadratic
    )


def evaluate(checked: Any, task: Task | str | None, decisions: Mapping[str, Any]) -> Evaluation:
    """The metrics, success, breakdown and feasibility of one fully decided plan.

    ``checked`` is a checked spec (``spec`` and ``env``), or a ``Context`` from
    ``build_context`` (faster when evaluating many plans). A missing decision raises
    ``DecisionError`` naming it; a plan that cannot run is returned with ``feasible`` False and
    its ``problems``.
    """
    if not isinstance(checked, Context):  # repeat ... choose: K from the decisions
        checked, task = resolve(checked, task, decisions)
    ctx = checked if isinstance(checked, Context) else build_context(checked, task)
    return evaluate_plan(ctx, build_plan(ctx, None, decisions))


def evaluate_plan(ctx: Context, plan: Plan) -> Evaluation:
    """``evaluate`` of a plan already made (``aalp.plan.build.build_plan``)."""

    def classifier(op: str, choice: Choice) -> Choice | None:
        return plan.op(ctx.routes[op]).choice if ctx.routed(op, choice.model) else None

    stages: list[StageEval] = []
    problems: list[str] = []
    for shape in plan.stages:
        frame = frame_of(ctx, shape)
        st, probs = _stage_eval(ctx, frame, lambda op: plan.op(op).choice, classifier)
        stages.append(st)
        problems.extend(probs)
    if ctx.task.repeats:  # repeat STAGE K then vote (aalp.model.repeat)
        stages = apply_repeats(ctx, stages, repeat_counts(ctx))
    metrics = Metrics()
    log_success = 0.0
    log_accuracy = 0.0
    for st in stages:
        metrics = metrics + st.metrics
        log_success += st.log_success
        log_accuracy += st.log_accuracy
    total_cost = metrics.cost if math.isfinite(metrics.cost) else 0.0
    stages = [
        replace(
            st,
            op_evals=tuple(
                replace(r, cost_share=(r.metrics.cost / total_cost if total_cost > 0 else 0.0))
                for r in st.op_evals
            ),
        )
        for st in stages
    ]
    obj = ctx.task.objective
    objective = (obj.sense, obj.metric) if obj is not None else ("minimize", "cost")
    metrics = replace(metrics, seconds=known_seconds(ctx, stages, metrics.seconds))
    return Evaluation(
        task=ctx.task.name,
        decisions=dict(plan.decisions),
        metrics=metrics,
        log_success=log_success,
        stages=tuple(stages),
        feasible=not problems,
        problems=tuple(dict.fromkeys(problems)),
        requirements=_requirement_checks(ctx, metrics, log_success, log_accuracy),
        objective=objective,
        assumptions=ASSUMPTIONS
        + _attention_notes(ctx, stages)
        + seconds_notes(ctx, stages)
        + _item_notes(ctx)
        + judged.judge_notes(stages),
        plan=plan,
        log_accuracy=log_accuracy if ctx.items is not None else 0.0,
        items=ctx.items,
        item_count=float(ctx.count(ctx.items)) if ctx.items is not None else None,
    )


def _item_notes(ctx: Context) -> tuple[str, ...]:
    """What the accuracy counts, when the task has items (model.md §3, items)."""
    if ctx.items is None:
        return ()
    return (
        f"accuracy is the expected fraction of the items of '{ctx.items}' whose result is"
        " right: every call on an item's path is right (its chunk, the nodes above it, the"
        " steps before it in a chain, every call of a stage over other data)",
    )
