"""The cost model as closed forms: a plan's metrics as sympy expressions in the size parameters.

The same IR formulas (``aalp.front.expr.to_sympy``), the same per-call metrics
(``model.cost.call_metrics``) and the same composition as ``model.cost.evaluate`` (docs/model.md
§1–4), with the sizes left as symbols. ``closed_form`` is exact (ceilings kept, votes as
decided) and agrees with ``evaluate`` at every point; ``closed_form(..., asymptotic=True)``
drops ceilings, lets ahead-by-k's k grow as MAKER's ``k_min`` of the size (Θ(log s)) and
approximates a reduce tree by its levels, which is what ``growth_class`` reads:

>>> import sympy
>>> s = sympy.Symbol("s", positive=True)
>>> growth_class(3*s*sympy.log(2*s) + 7*s, s)
'Θ(s·log s)'
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from aalp.front.expr import names as expr_names
from aalp.front.expr import to_sympy
from aalp.front.ir import (
    LATENCY_METRICS,
    ChainStage,
    Expr,
    MapStage,
    Name,
    ReduceStage,
    Task,
)
from aalp.front.nesting import enclosing, input_stage
from aalp.model import reliability as rel
from aalp.model.cost import call_metrics
from aalp.model.metrics import METRIC_FIELDS, Metrics
from aalp.model.speeds import Pace, pace_of
from aalp.plan.context import Context, build_context
from aalp.plan.decisions import read_choice, shared_x_ops
from aalp.plan.plan import Choice, DecisionError
from aalp.plan.shape import history_of, level_nodes, level_x, tree_depth, windows

if TYPE_CHECKING:
    import sympy


def _rational(value: Any):
    import sympy
    from aalp.front.expr import sympy_number

    if isinstance(value, Fraction | int):
        return sympy_number(value)
    if isinstance(value, float):
        if value != value:
            return sympy.nan
        if value == 0 or 1e-12 <= abs(value) <= 1e15:
            exact = sympy.nsimplify(value, rational=True)
            if exact.is_Rational and exact.q < 10**15:
                return exact
        return sympy.Float(value, 17)
    return sympy.sympify(value)


# Majority of more votes than this is written as its value (or a function), not as a sum.
MAJORITY_TERMS = 15


def size_symbols(ctx: Context) -> list[str]:
    """The names a closed form keeps symbolic by default: a data size written as a compound
    formula is its own symbol (``s`` for ``steps s = 2^disks − 1``); a data size that is one
    parameter (``steps bugs = b``) keeps that parameter; parameters in unit sizes join them."""
    out: list[str] = []
    for d in ctx.task.data:
        if isinstance(d.count, Name) and d.count.id not in (x.name for x in ctx.task.data):
            out.append(d.count.id)
        else:
            out.append(d.name)
        if d.tokens is not None:
            out.extend(n.id for n in expr_names(d.tokens))
    return list(dict.fromkeys(out))


class _Sym:
    """The symbolic environment of one task."""

    def __init__(self, ctx: Context, symbols: Iterable[str] | None, asymptotic: bool):
        import sympy

        self.ctx = ctx
        self.asymptotic = asymptotic
        keep = list(symbols) if symbols is not None else size_symbols(ctx)
        self.symbols = {n: sympy.Symbol(n, positive=True, integer=True) for n in keep}
        env: dict[str, Any] = {}
        for name, value in ctx.env.items():
            env[name] = self.symbols.get(name, _rational(value))
        # data sizes written in symbolic parameters follow them (bugs = b)
        for d in ctx.task.data:
            if d.name not in self.symbols:
                env[d.name] = to_sympy(d.count, env)
        self.env = env
        # a reduce node's fanin, level and calls while its tree is summed (``_tree``)
        self.node: dict[str, Any] = {}

    def formula(self, expr: Expr, x: Any = None) -> sympy.Expr:
        env = {**self.env, **self.node}
        if x is not None:
            env["x"] = x
        return to_sympy(expr, env)

    def count(self, data: str):
        return self.env[data]


def _decision_value(sym: _Sym, value: Any):
    """A decision as sympy: numbers stay numbers; a formula (a pin like ``move.x = s``) is
    converted in the symbolic environment."""
    import sympy

    if isinstance(value, sympy.Basic):
        return value
    if isinstance(value, Expr):
        return to_sympy(value, sym.env)
    if isinstance(value, str) and value in sym.env:
        return sym.env[value]
    return _rational(value)


def _ceil(sym: _Sym, value):
    import sympy

    return value if sym.asymptotic else sympy.ceiling(value)


def _floor(sym: _Sym, value):
    import sympy

    return value if sym.asymptotic else sympy.floor(value)


def k_min_expr(a, b, decisions, target, asymptotic: bool = False):
    """MAKER's k_min for ``decisions`` votes each with success a and rival b and whole-task
    target t: ``ceil(ln(t^(−1/decisions) − 1)/ln(b/a))``; asymptotically
    ``ln(decisions/(−ln t))/ln(a/b)`` = Θ(log decisions)."""
    import sympy

    if asymptotic:
        return (sympy.log(decisions) - sympy.log(-sympy.log(target))) / sympy.log(a / b)
    return sympy.ceiling(
        sympy.log(sympy.exp(-sympy.log(target) / decisions) - 1) / sympy.log(b / a)
    )


def _ahead_rounds(a, b, k, keep, samples):
    """Expected rounds of batched ahead-by-k voting: the Markov chain's value when the numbers
    are known; otherwise samples/k (each round draws at most k samples), a lower bound of the
    same order used only for growth classes."""
    import sympy

    if all(sympy.sympify(v).is_number for v in (a, b, k, keep)):
        value = rel.ahead_by_rounds(float(a), float(b), int(k), float(keep))
        if value is not None:
            return sympy.Float(value, 17)
    return samples / k


def _boosted(sym: _Sym, op: str, x, choice: Choice, votes, keep):
    """(success, samples, rounds, tries) of one decision, as sympy expressions."""
    import sympy

    o = sym.ctx.op(op)
    outcomes = o.success
    for ms in o.success_on:
        if ms.model == choice.model:
            outcomes = ms.outcomes
    succ, samples, rounds, tries = 0, 0, 0, 0
    for out in outcomes:
        w = sym.formula(out.weight, x)
        a = sym.formula(out.p, x)
        b = 1 - a if o.rival is None else sympy.Min(sym.formula(o.rival, x), 1 - a)
        match choice.kind:
            case "none":
                one = rel.samples_of_tries(1, keep)
                s_, n_, r_, t_ = a, one, one, 1
            case "ahead_by":
                k = votes
                psub = 1 / (1 + (b / a) ** k)
                lead = 1 if sym.asymptotic else (2 * psub - 1)
                n_ = rel.samples_ahead_by(rel.votes_ahead_by(k, lead, a, b), a, b, keep)
                s_, r_, t_ = psub, _ahead_rounds(a, b, k, keep, n_), 1
            case "majority":
                kk = int(votes)
                if a.is_number and kk > MAJORITY_TERMS:
                    # a long binomial sum is no closed form anyone reads: its value instead
                    s_ = sympy.Float(rel.majority_success(float(a), kk), 17)
                elif kk > MAJORITY_TERMS:
                    s_ = sympy.Function("P_majority")(kk, a)
                else:
                    i = sympy.Symbol("i", integer=True)
                    s_ = sympy.Sum(
                        sympy.binomial(kk, i) * a**i * (1 - a) ** (kk - i),
                        (i, (kk + 1) // 2, kk),
                    ).doit()
                n_, t_ = rel.samples_majority(kk, keep), 1
                r_ = sympy.Float(rel.majority_rounds(kk, float(keep))) if keep.is_number else 1
            case "judge":
                nn = int(votes)
                c = _judge_accuracy(sym, choice, x)
                s_ = a if nn <= 1 else a**nn + c * (1 - a**nn - (1 - a) ** nn)
                n_, t_ = rel.samples_majority(nn, keep), 1
                r_ = sympy.Float(rel.majority_rounds(nn, float(keep))) if keep.is_number else 1
            case "expand":
                s_, n_, r_, t_ = _beam(sym, choice, x, a, keep)
            case "retry" if choice.check == "exact":
                s_ = 1 if choice.retries == "inf" else 1 - (1 - a) ** int(choice.retries or 1)
                t_ = rel.retry_tries(s_, a)
                n_ = r_ = rel.samples_of_tries(t_, keep)
            case _:
                vop = sym.ctx.op(choice.check or "")
                c = sum(sym.formula(v.weight, x) * sym.formula(v.p, x) for v in vop.success)
                acc = a * c + (1 - a) * (1 - c)
                done = 1 if choice.retries == "inf" else 1 - (1 - acc) ** int(choice.retries or 1)
                t_ = rel.retry_tries(done, acc)
                s_ = a * c * t_
                n_ = r_ = rel.samples_of_tries(t_, keep)
        succ += w * s_
        samples += w * n_
        rounds += w * r_
        tries += w * t_
    return succ, samples, rounds, tries


def _beam(sym: _Sym, choice: Choice, x, a, keep):
    """(success, samples, rounds, tries) of a beam search: its calls and rounds are closed
    forms of its width, keep and depth; its success is the exact chain's value (a sum over
    the chain's states, no closed form anyone reads), or ``P_beam(a, c, b, w, d)``."""
    import sympy
    from aalp.model import beam

    boost = choice.boost
    b, w, d = int(choice.votes or 1), boost.keep, boost.depth
    c = _judge_accuracy(sym, choice, x)
    if sympy.sympify(a).is_number and sympy.sympify(c).is_number:
        s_ = sympy.Float(beam.success(float(a), float(c), b, w, d), 17)
    else:
        s_ = sympy.Function("P_beam")(a, c, b, w, d)
    n = beam.calls(b, w, d)
    if sympy.sympify(keep).is_number:
        r_ = sympy.Float(beam.rounds(b, w, d, float(keep)), 17)
    else:
        r_ = sympy.Integer(d)
    return s_, n / keep, r_, n


def _scorer_metrics(sym: _Sym, choice: Choice, x, writes, tries) -> Metrics:
    """A beam's scorer: ``tries`` calls (``1/v`` each with its red flags), each reading its
    reads plus the candidate, a level's calls at once."""
    import sympy
    from aalp.model import beam

    sop = sym.ctx.op(choice.checker or "")
    info = sym.ctx.spec.model(choice.verifier_model or "")
    m, pin, pout = (to_sympy(e, sym.env) for e in (info.size, info.price_in, info.price_out))
    rf = sop.red_flag
    keep = sym.formula(rf.keep, x) if rf is not None and rf.keep is not None else sympy.Integer(1)
    quadratic = sym.ctx.spec.attention_of(info) == "quadratic"
    one = call_metrics(
        m, sym.formula(sop.reads, x) + writes, sym.formula(sop.writes, x), pin, pout, quadratic
    )
    boost = choice.boost
    levels = [k * boost.width for k in beam.kept(boost.width, boost.keep, boost.depth)]
    if sympy.sympify(keep).is_number:
        rounds = sympy.Float(sum(rel.majority_rounds(k, float(keep)) for k in levels), 17)
    else:
        rounds = sympy.Integer(len(levels))
    return _scale(one, tries / keep, rounds)


def _judge_accuracy(sym: _Sym, choice: Choice, x):
    """The judge's accuracy c on its model (a mixture averaged), as in ``aalp.model.cost``."""
    jop = sym.ctx.op(choice.checker or "")
    outcomes = jop.success
    for ms in jop.success_on:
        if ms.model == choice.verifier_model:
            outcomes = ms.outcomes
    return sum(sym.formula(v.weight, x) * sym.formula(v.p, x) for v in outcomes)


def _judge_metrics(sym: _Sym, choice: Choice, x, writes) -> Metrics | None:
    """The judge's call of one decision: its reads plus the n candidates, ``1/v_J`` calls;
    None when n = 1 (no judge runs)."""
    import sympy

    n = int(choice.votes or 1)
    if n <= 1:
        return None
    jop = sym.ctx.op(choice.judge or "")
    info = sym.ctx.spec.model(choice.verifier_model or "")
    m, pin, pout = (to_sympy(e, sym.env) for e in (info.size, info.price_in, info.price_out))
    rf = jop.red_flag
    keep = sym.formula(rf.keep, x) if rf is not None and rf.keep is not None else sympy.Integer(1)
    quadratic = sym.ctx.spec.attention_of(info) == "quadratic"
    reads = sym.formula(jop.reads, x) + n * writes
    one = call_metrics(m, reads, sym.formula(jop.writes, x), pin, pout, quadratic)
    return _scale(one, 1 / keep, 1 / keep)


def _tool_call(sym: _Sym, tool: Any) -> Metrics:
    """One call of a tool, symbolically (``aalp.plan.tools``)."""
    from aalp.plan import tools

    value = lambda e: to_sympy(e, sym.env)  # noqa: E731
    price = tools.tool_price(tool, value)
    return call_metrics(0, 0, 0, 0, 0, pace=tools.tool_pace(tool, value), per_call=price)


def _decision_metrics(
    sym: _Sym, op: str, x, choice: Choice, votes, extra_reads=0, spread=0
) -> tuple[Metrics, Any]:
    """Metrics (latency as the decision's path) and success of one decision of ``op``;
    ``extra_reads`` and ``spread`` are the mean and variance of its conversation's reads."""
    import sympy

    ctx = sym.ctx
    rf = ctx.op(op).red_flag
    keep = sym.formula(rf.keep, x) if rf is not None and rf.keep is not None else sympy.Integer(1)
    reads, writes = sym.formula(ctx.op(op).reads, x), sym.formula(ctx.op(op).writes, x)
    succ, samples, rounds, tries = _boosted(sym, op, x, choice, votes, keep)
    tool = next((t for t in ctx.spec.tools if t.name == choice.model), None)
    if tool is not None:  # no tokens: its price per call and its latency (aalp.plan.tools)
        one = _tool_call(sym, tool)
    else:
        info = ctx.spec.model(choice.model)
        m, pin, pout = (to_sympy(e, sym.env) for e in (info.size, info.price_in, info.price_out))
        quadratic = ctx.spec.attention_of(info) == "quadratic"
        pace = pace_of(info.speed, lambda e: to_sympy(e, sym.env)) or _NO_PACE
        one = call_metrics(m, reads + extra_reads, writes, pin, pout, quadratic, spread, pace)
    metrics = _scale(one, samples, rounds)
    if choice.kind == "retry" and choice.check not in (None, "exact"):
        vop = ctx.op(choice.check or "")
        vinfo = ctx.spec.model(choice.verifier_model or "")
        vm = [to_sympy(e, sym.env) for e in (vinfo.size, vinfo.price_in, vinfo.price_out)]
        vkeep = (
            sym.formula(vop.red_flag.keep, x)
            if vop.red_flag and vop.red_flag.keep
            else sympy.Integer(1)
        )
        vquadratic = ctx.spec.attention_of(vinfo) == "quadratic"
        vreads, vwrites = sym.formula(vop.reads, x), sym.formula(vop.writes, x)
        vpace = pace_of(vinfo.speed, lambda e: to_sympy(e, sym.env)) or _NO_PACE
        vone = call_metrics(vm[0], vreads, vwrites, vm[1], vm[2], vquadratic, pace=vpace)
        metrics = _add(metrics, _scale(vone, tries / vkeep, tries / vkeep))
    if choice.kind == "expand":
        metrics = _add(metrics, _scorer_metrics(sym, choice, x, writes, tries))
    if choice.kind == "judge":
        judged = _judge_metrics(sym, choice, x, writes)
        if judged is not None:
            metrics = _add(metrics, judged)
    if ctx.routed(op, choice.model):
        cls = ctx.routes[op]
        cm, cs = _decision_metrics(sym, cls, x, sym.choices[cls], sym.votes[cls])
        metrics = _add(cm, metrics)
        succ = succ * cs
    return metrics, succ


def _scale(mt: Metrics, factor, latency_factor=None) -> Metrics:
    lf = factor if latency_factor is None else latency_factor
    return Metrics(
        mt.calls * factor,
        mt.forward_passes * factor,
        mt.cost * factor,
        mt.tokens * factor,
        mt.dollars * factor,
        mt.latency * lf,
        mt.latency_calls * lf,
        mt.seconds * lf,
    )


def _add(a: Metrics, b: Metrics) -> Metrics:
    return Metrics(*(getattr(a, f) + getattr(b, f) for f in METRIC_FIELDS))


def _votes(sym: _Sym, op: str, choice: Choice, decisions_count, x):
    """The vote count: as decided, or (asymptotic, ahead_by) MAKER's k_min of the size."""
    if choice.kind != "ahead_by":
        return choice.votes
    target = None
    for req in sym.ctx.task.requirements:
        if req.metric == "success" and req.cmp == ">=":
            target = to_sympy(req.bound, sym.env)
    if not sym.asymptotic or target is None:
        return choice.votes
    o = sym.ctx.op(op)
    a = sym.formula(o.success[0].p, x)
    b = 1 - a if o.rival is None else sym.formula(o.rival, x)
    return k_min_expr(a, b, decisions_count, target, asymptotic=True)


def _read_x(sym: _Sym, decisions: Mapping[str, Any], op: str):
    if sym.ctx.op(op).granularity is None:
        return 1
    key = f"{op}.x"
    if key not in decisions:
        raise DecisionError(f"missing decision '{key}'", key)
    return _decision_value(sym, decisions[key])


def closed_form_metrics(
    checked: Any,
    task: Task | str | None,
    decisions: Mapping[str, Any],
    symbols: Iterable[str] | None = None,
    asymptotic: bool = False,
) -> tuple[Metrics, Any]:
    """Every metric of a plan, and its success, as sympy expressions in ``symbols`` (default:
    ``size_symbols``). Decision values may be numbers, words, sympy expressions or formulas."""
    import sympy

    ctx = checked if isinstance(checked, Context) else build_context(checked, task)
    if ctx.task.repeats:  # the majority over K runs is a binomial tail: no form here yet
        raise NotImplementedError("repeat ... then vote has no symbolic form")
    sym = _Sym(ctx, symbols, asymptotic)
    sym.choices = {}
    sym.votes = {}
    total = Metrics(0, 0, 0, 0, 0, 0, 0, 0)
    success = sympy.Integer(1)
    linear: dict[int, tuple[Any, Any, Any]] = {}  # map or chain index -> (chunks, x, n)
    outer: dict[int, tuple[Any, Any, Any]] = {}  # nested stages: (runs, latency, workers)
    for i, stage in enumerate(ctx.task.stages):
        runs, lat, workers = _nesting(sym, i, linear, outer)
        match stage:
            case MapStage() | ChainStage():
                part, stage_total, linear[i] = _linear(sym, stage, decisions, workers)
            case ReduceStage(op=o):
                j = input_stage(ctx.task, i)
                if j is None:
                    raise DecisionError(
                        f"reduce '{o}' has no map or chain stage before it", f"{o}.fanin"
                    )
                fanin = (
                    to_sympy(stage.fanin, sym.env)
                    if stage.fanin is not None
                    else _decision_value(sym, decisions[f"{o}.fanin"])
                )
                choice = read_choice(ctx, decisions, o)
                sym.choices[o] = choice
                _read_router(sym, o, decisions)  # a routed reduce op has its classifier too
                part, stage_total = _tree(sym, o, choice, fanin, *linear[j])
            case _:
                continue
        if runs is not None:  # a nested stage runs once per enclosing chunk (plan/nested.py)
            part = _scale(part, runs, lat)
            stage_total = stage_total**runs
        total = _add(total, part)
        success = success * stage_total
    return total, success


def _nesting(sym: _Sym, index: int, linear: dict, outer: dict) -> tuple[Any, Any, Any]:
    """(runs, latency factor, workers of one run) of a nested stage, as sympy values (runs
    None at the top level): the same rules as ``aalp.plan.nested``, over the enclosing
    stages' chunk counts."""
    import sympy

    ctx = sym.ctx
    w = to_sympy(ctx.task.workers, sym.env) if ctx.task.workers is not None else None
    parent = enclosing(ctx.task, index)
    if parent is None:
        return None, None, w
    p_runs, p_lat, p_w = outer.get(parent, (sympy.Integer(1), sympy.Integer(1), w))
    chunks = linear[parent][0]
    if isinstance(ctx.task.stages[parent], ChainStage):
        factor, share = chunks, p_w
    else:
        # the chunks run in ceil(C/w) rounds; the running ones split the pool
        factor = 1 if p_w is None else _ceil(sym, chunks / p_w)
        share = None if p_w is None else sympy.Max(1, _floor(sym, p_w / sympy.Min(chunks, p_w)))
    outer[index] = (p_runs * chunks, p_lat * factor, share)
    return outer[index]


def _linear_shape(sym: _Sym, stage: MapStage | ChainStage, decisions: Mapping[str, Any]):
    """x, n, chunks, history and each op's x of a map or chain stage, as sympy values."""
    import sympy

    ctx = sym.ctx
    shared = shared_x_ops(ctx, stage)
    given = [o for o in shared if f"{o}.x" in decisions]
    x = _read_x(sym, decisions, (given or shared)[0]) if shared else None
    n = sym.count(stage.over)
    if x is None:
        chunks = n
    else:
        overlap = getattr(stage, "overlap", None)
        rho = None if overlap is None else sym.formula(overlap)
        chunks = windows(n, x, rho, lambda v: _ceil(sym, v), sympy.Max)
    history = history_of(ctx, stage, decisions) if isinstance(stage, ChainStage) else None
    xs = {o: (x if o in shared else _read_x(sym, decisions, o)) for o in stage.ops}
    return x, n, chunks, history, xs


def _read_choices(sym: _Sym, stage: MapStage | ChainStage, decisions: Mapping[str, Any]) -> None:
    """Each op's choice, and its router's when the chosen model needs one."""
    ctx = sym.ctx
    for o in stage.ops:
        sym.choices[o] = read_choice(ctx, decisions, o)
        _read_router(sym, o, decisions)


def _read_router(sym: _Sym, o: str, decisions: Mapping[str, Any]) -> None:
    """The choice of op ``o``'s classifier when its chosen model needs one."""
    ctx = sym.ctx
    if o in ctx.routes:
        cls = ctx.routes[o]
        routed = ctx.routed(o, sym.choices[o].model)
        sym.choices[cls] = read_choice(ctx, decisions, cls) if routed else None
        if sym.choices[cls] is not None:
            sym.votes[cls] = sym.choices[cls].votes


def _linear(sym: _Sym, stage: MapStage | ChainStage, decisions: Mapping[str, Any], w=None):
    """A map or chain stage on ``w`` workers (None: unbounded): its metrics, its success and
    (chunks, x, n) for a reduce after it."""
    import sympy

    ctx = sym.ctx
    x, n, chunks, history, xs = _linear_shape(sym, stage, decisions)
    _read_choices(sym, stage, decisions)
    tokens = {
        o: sym.formula(ctx.op(o).reads, xs[o]) + sym.formula(ctx.op(o).writes, xs[o])
        for o in stage.ops
    }
    step = sum(tokens.values())
    one = Metrics(0, 0, 0, 0, 0, 0, 0, 0)
    stage_success = sympy.Integer(1)
    before = 0
    for o in stage.ops:
        full = history == "full"
        extra = before + step * (chunks - 1) / 2 if full else 0
        spread = step**2 * (chunks**2 - 1) / 12 if full else 0  # frames.py: (j − 1)·G's variance
        votes = _votes(sym, o, sym.choices[o], chunks, xs[o])
        dm, ds = _decision_metrics(sym, o, xs[o], sym.choices[o], votes, extra, spread)
        one = _add(one, dm)
        stage_success = stage_success * ds
        before = before + tokens[o]
    if isinstance(stage, ChainStage):
        part = _scale(one, chunks)
    else:
        part = _scale(one, chunks, 1)
        if w is not None:
            # the list schedule of equal chunks: ceil(C/w) rounds of one (model.md §3)
            part = _scale(one, chunks, _ceil(sym, chunks / w))
    if isinstance(stage, MapStage) and stage.success is not None:
        stage_env = {**sym.env, "x": x if x is not None else 1, "calls": chunks}
        stage_total = to_sympy(stage.success, stage_env)
    else:
        stage_total = stage_success**chunks
    return part, stage_total, (chunks, x if x is not None else 1, n)


def _tree(sym: _Sym, op: str, choice: Choice, fanin, leaves, unit, n):
    """A reduce tree: Σ over levels j = 1..L of ceil(M/f^j) nodes at x = min(N, u·f^j), as a
    sympy Sum (exact); asymptotically the nodes of level j are M/f^j at x = u·f^j and L =
    log(M)/log(f), summed in closed form when the op's metrics are polynomials in x."""
    import sympy

    j = sympy.Symbol("j", integer=True, positive=True)
    if not sym.asymptotic:
        depth = tree_depth(leaves, fanin, sympy.ceiling, sympy.log)
        x_j = level_x(n, unit, fanin, j, sympy.Min)
        nodes = level_nodes(leaves, fanin, j, sympy.ceiling)
        sym.node = {"fanin": fanin, "level": j, "calls": nodes}
        try:
            dm, ds = _decision_metrics(sym, op, x_j, choice, choice.votes)
        finally:
            sym.node = {}
        metrics = Metrics(
            *(sympy.Sum(nodes * getattr(dm, f), (j, 1, depth)) for f in METRIC_FIELDS[:5]),
            *(sympy.Sum(getattr(dm, f), (j, 1, depth)) for f in METRIC_FIELDS[5:]),
        )
        return metrics, sympy.Product(ds**nodes, (j, 1, depth))
    depth = tree_depth(leaves, fanin, lambda v: v, sympy.log)
    xs = sympy.Symbol("x_level", positive=True)
    # at x = u·f^j: level j = log(x/u)/log(f), and M/f^j = M·u/x nodes
    sym.node = {"fanin": fanin, "level": sympy.log(xs / unit) / sympy.log(fanin)}
    sym.node["calls"] = leaves * unit / xs
    try:
        dm, ds = _decision_metrics(sym, op, xs, choice, choice.votes)
    finally:
        sym.node = {}
    out = []
    for f in METRIC_FIELDS:
        g = sympy.expand(getattr(dm, f))
        per_node = f not in LATENCY_METRICS
        try:
            poly = sympy.Poly(g, xs)
        except sympy.PolynomialError:
            out.append(
                sympy.Sum(
                    (leaves / fanin**j if per_node else 1) * g.subs(xs, unit * fanin**j),
                    (j, 1, depth),
                )
            )
            continue
        acc = 0
        for (deg,), coeff in poly.terms():
            weight = leaves * unit**deg if per_node else unit**deg
            ratio = fanin ** (deg - 1) if per_node else fanin**deg
            acc += coeff * weight * sympy.Sum(ratio**j, (j, 1, depth)).doit()
        out.append(acc)
    return Metrics(*out), ds ** (leaves / (fanin - 1))


_NO_PACE = Pace(0, 0, 0)  # seconds of a model without a speed: 0 (reported as unknown)
_FORMS: dict[tuple, tuple[Any, tuple[Metrics, Any]]] = {}
_FORMS_LIMIT = 64


def _cached_metrics(checked, task, decisions, symbols, asymptotic) -> tuple[Metrics, Any]:
    """``closed_form_metrics``, remembered for the last few plans (keyed by the identity of
    ``checked``, which the cache holds so that it is never reused, and the decisions)."""
    try:
        key = (
            id(checked),
            task if isinstance(task, str | None) else task.name,
            tuple(sorted((k, type(v).__name__, repr(v)) for k, v in decisions.items())),
            None if symbols is None else tuple(symbols),
            asymptotic,
        )
    except TypeError:  # decisions that do not sort: no cache
        return closed_form_metrics(checked, task, decisions, symbols, asymptotic)
    hit = _FORMS.get(key)
    if hit is not None and hit[0] is checked:
        return hit[1]
    value = closed_form_metrics(checked, task, decisions, key[3], asymptotic)
    if len(_FORMS) >= _FORMS_LIMIT:
        _FORMS.pop(next(iter(_FORMS)))
    _FORMS[key] = (checked, value)
    return value


def closed_form(
    checked: Any,
    task: Task | str | None,
    decisions: Mapping[str, Any],
    metric: str = "cost",
    symbols: Iterable[str] | None = None,
    asymptotic: bool = False,
):
    """One metric of a plan (``success`` included) as a closed form in the size symbols.

    The plan's metrics are built once per spec, task, decisions and symbols: a report asks
    for several metrics of one plan (and the growth fit for the same ones again)."""
    metrics, success = _cached_metrics(checked, task, decisions, symbols, asymptotic)
    if metric == "success":
        return success
    if metric not in METRIC_FIELDS:
        raise ValueError(f"unknown metric '{metric}'")
    return getattr(metrics, metric)


# ---------------------------------------------------------------------------------------------
# growth classes
# ---------------------------------------------------------------------------------------------


def _strip(expr):
    import sympy

    def no_zero_floor(*args):
        # Max(0, n − x): the size outgrows any fixed x, so asymptotically it is n − x
        rest = [a for a in args if a != 0]
        return rest[0] if len(rest) == 1 else sympy.Max(*args)

    out = expr.replace(sympy.ceiling, lambda a: a).replace(sympy.floor, lambda a: a)
    return out.replace(sympy.Max, no_zero_floor)


def _split_logs(expr):
    """log(c·s^d·t) → log c + d·log s + log t for positive symbolic factors (the growth
    symbols are positive); ``expand_log(force=True)`` can stall on constant logs."""
    import sympy

    def split(arg):
        arg = sympy.factor_terms(arg)
        coeff, rest = arg.as_coeff_Mul()
        if not rest.free_symbols:
            return sympy.log(arg)
        out = sympy.log(abs(coeff)) if coeff != 1 else 0
        sign = 1 if coeff > 0 else -1
        for f in sympy.Mul.make_args(rest):
            base, exp = f.as_base_exp()
            if base.free_symbols and not exp.free_symbols:
                out += exp * split(base) if base.is_Mul else exp * sympy.log(base)
            else:
                sign *= 1 if f.is_positive or f.free_symbols else -1
                out += sympy.log(abs(f)) if not f.free_symbols else sympy.log(f)
        return out

    return expr.replace(lambda e: isinstance(e, sympy.log), lambda e: split(e.args[0]))


def _term_key(term, symbols: Sequence[Any]):
    """Per symbol: (log of the exponential base, power, log power) of one product term, or
    None if the term has another shape."""
    import sympy

    keys = {s: [0.0, sympy.Integer(0), sympy.Integer(0)] for s in symbols}
    for factor in sympy.Mul.make_args(term):
        if not factor.free_symbols & set(symbols):
            continue
        base, exp = factor.as_base_exp()
        if base in keys and not exp.free_symbols:
            keys[base][1] += exp
        elif isinstance(base, sympy.log) and base.args[0] in keys and not exp.free_symbols:
            keys[base.args[0]][2] += exp
        elif base == sympy.E or not base.free_symbols:
            # c^(α·s): an exponential in one symbol
            logbase = exp * (1 if base == sympy.E else sympy.log(base))
            sy = [s for s in symbols if s in logbase.free_symbols]
            if len(sy) != 1:
                return None
            rate = sympy.simplify(logbase / sy[0])
            if rate.free_symbols:
                return None
            keys[sy[0]][0] += float(rate)
        else:
            return None
    return {s: (k[0], k[1], k[2]) for s, k in keys.items()}


def _fmt_number(value: float) -> str:
    import math

    base = math.exp(value)
    return str(round(base)) if abs(base - round(base)) < 1e-9 else f"{base:.4g}"


def _format(key, symbols) -> str:
    parts: list[str] = []
    for s in symbols:
        if key[s][0] > 0:
            parts.append(f"{_fmt_number(key[s][0])}^{s}")
    for s in symbols:
        deg = key[s][1]
        if deg != 0:
            parts.append(str(s) if deg == 1 else f"{s}^{deg}" if deg.is_Integer else f"{s}^({deg})")
    for s in symbols:
        lg = key[s][2]
        if lg != 0:
            parts.append(f"log {s}" if lg == 1 else f"log^{lg} {s}")
    return "·".join(parts) or "1"


def growth_class(expr, symbol) -> str:
    """The growth class of the dominant term(s) in ``symbol`` (or several symbols jointly):
    ``Θ(s·log s)``, ``Θ(b^2·k^2·l^2)``, ``Θ(2^k·k^2)``. Other symbols are positive constants.

    Ceilings are dropped; the expression is expanded (logs of products split) into terms of
    the form ``c^s·s^d·log^e s``; the terms no other term dominates in every symbol are kept.
    """
    import sympy

    symbols = list(symbol) if isinstance(symbol, list | tuple) else [symbol]
    e = sympy.expand(_split_logs(_strip(sympy.sympify(expr))))
    e = sympy.powsimp(sympy.expand_power_base(e, force=True), force=True)
    keys = []
    for term in sympy.Add.make_args(sympy.expand(e)):
        if not term.free_symbols & set(symbols):
            keys.append({s: (0.0, sympy.Integer(0), sympy.Integer(0)) for s in symbols})
            continue
        key = _term_key(term, symbols) if not term.has(sympy.Sum, sympy.Product) else None
        if key is None:
            return numeric_growth(expr, symbols[0])
        keys.append(key)

    def dominated(a, b) -> bool:  # b dominates a
        return all(b[s] >= a[s] for s in symbols) and any(b[s] > a[s] for s in symbols)

    top = []
    for k in keys:
        if not any(dominated(k, other) for other in keys) and k not in top:
            top.append(k)
    return "Θ(" + " + ".join(_format(k, symbols) for k in top) + ")"


def value_at(expr, values: Mapping[str, Any]) -> float:
    """The closed form's value with its symbols (by name) set to ``values``."""
    import sympy

    e = sympy.sympify(expr)
    # p^s with a rational p and s = 2^20 − 1 would be computed exactly (millions of digits):
    # powers of rational constants are taken in 50-digit floating point instead
    e = e.replace(
        lambda n: n.is_Pow and n.base.is_Rational and not n.base.is_Integer,
        lambda n: sympy.Float(n.base, 50) ** n.exp,
    )
    subs = {s: _rational(values[s.name]) for s in e.free_symbols if s.name in values}
    return _numeric(e.subs(subs))


def _numeric(expr) -> float:
    """A float value of a closed expression: sums and products over tree levels are looped in
    mpmath (exact powers like (1999/2000)^(7·4^25) would take forever in rationals)."""
    import mpmath
    import sympy

    while True:
        nodes = [n for n in expr.atoms(sympy.Sum, sympy.Product)]
        if not nodes:
            break
        node = min(nodes, key=sympy.count_ops)
        (j, lo, hi), f = node.limits[0], node.function
        fn = sympy.lambdify(j, f, "mpmath")
        lo_i = int(mpmath.floor(mpmath.mpf(str(sympy.N(lo, 30)))))
        hi_i = int(mpmath.floor(mpmath.mpf(str(sympy.N(hi, 30)))))
        with mpmath.workdps(30):
            values = [fn(mpmath.mpf(k)) for k in range(lo_i, hi_i + 1)]
            total = mpmath.fsum(values) if isinstance(node, sympy.Sum) else mpmath.fprod(values)
        expr = expr.xreplace({node: sympy.Float(str(total), 30)})
    return float(sympy.N(expr, 30))


def numeric_growth(expr, symbol, exponents: Sequence[int] = tuple(range(12, 61, 4))) -> str:
    """The growth class in one symbol from values on a ladder ``2^12 … 2^60`` (other symbols
    at 1): a least-squares fit of ``ln f = d·ln n + e·ln ln n + c``, d rounded to a half and e
    to an integer. For forms the term analysis cannot read (sums over tree levels)."""
    import math

    import numpy as np
    import sympy

    e = sympy.sympify(expr)
    others = {s: 1 for s in e.free_symbols if s != symbol}
    rows, ys = [], []
    for k in exponents:
        n = sympy.Integer(2) ** k
        value = _numeric(e.subs(others).subs(symbol, n))
        if not value > 0 or not math.isfinite(value):
            continue
        ln = k * math.log(2)
        rows.append((ln, math.log(ln), 1.0))
        ys.append(math.log(value))
    if len(ys) < 4:
        return "Θ(?)"
    (d, lg, _), *_ = np.linalg.lstsq(np.array(rows), np.array(ys), rcond=None)
    d = round(d * 2) / 2
    lg = round(lg)
    key = {symbol: (0.0, sympy.nsimplify(d), sympy.Integer(lg))}
    return "Θ(" + _format(key, [symbol]) + ")"


def with_pins(decisions: Mapping[str, Any], pins: Iterable[Any]) -> dict[str, Any]:
    """``decisions`` with ``ir.Pin`` values on top, kept as formulas so that a pin like
    ``move.x = s`` stays the symbol ``s`` in a closed form (a baseline's growth)."""
    out = dict(decisions)
    for pin in pins:
        value = pin.value
        if isinstance(value, Name) and (
            pin.field in ("model", "vote", "history") or value.id in ("inf", "unbounded")
        ):
            value = "inf" if value.id == "unbounded" else value.id
        out[f"{pin.op}.{pin.field}"] = value
    return out
