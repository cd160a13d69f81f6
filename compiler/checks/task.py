"""The check pass inside one task: ops, x ranges, stages, boosters, requirements, usage."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from fractions import Fraction
from typing import Any

from aalp import codes
from aalp.checks.pins import PinChecks
from aalp.checks.protocol import Checker
from aalp.checks.values import at_x, chunks, finite, fmt_number, is_int, probability_hint
from aalp.front.expr import EvalError, Number, evaluate_exact, iter_names
from aalp.front.ir import (
    METRICS,
    ChainStage,
    CombineStage,
    Expr,
    MapStage,
    Op,
    ReduceStage,
    RetryBooster,
    RouteStage,
    Span,
    Task,
    VoteBooster,
)
from aalp.suggest import did_you_mean


class TaskChecker(PinChecks):
    """The checks inside one task: ops, stages, boosters, requirements, pins, baselines."""

    def __init__(self, outer: Checker, task: Task):
        self.c = outer
        self.task = task
        self.scope: dict[str, str] = dict(outer.param_scope)
        for datum in task.data:
            self.scope.setdefault(datum.name, f"data of task '{task.name}'")
        self.ops = {op.name: op for op in reversed(task.ops)}
        self.ops = {name: self.ops[name] for name in dict.fromkeys(o.name for o in task.ops)}
        self.data = {d.name: d for d in reversed(task.data)}
        self.reduced = {s.op for s in task.stages if isinstance(s, ReduceStage)}
        self.chained = {o for s in task.stages if isinstance(s, ChainStage) for o in s.ops}
        self.xrange: dict[str, tuple[Number, Number] | None] = {}

    def span(self, node: object) -> Span:
        return self.c.at(node, self.task.span)

    def op_ref(self, name: str, span: Span, where: str) -> bool:
        if name in self.ops:
            return True
        self.c.error(
            codes.UNKNOWN_OP,
            f"unknown op '{name}' in {where}",
            span,
            did_you_mean(name, self.ops, "op"),
        )
        return False

    def data_ref(self, name: str, span: Span, where: str) -> bool:
        if name in self.data:
            self.c.used.add(name)
            return True
        self.c.error(
            codes.UNKNOWN_DATA,
            f"unknown data '{name}' in {where}",
            span,
            did_you_mean(name, self.data, "data name"),
        )
        return False

    def run(self) -> None:
        self.compute_x_ranges()
        for op in self.ops.values():
            self.check_op(op)
        self.check_stages()
        self.check_boosters()
        self.check_requirements()
        pins_ok = self.check_pins(self.task.pins, "the task's pins")
        if pins_ok and self.task.pins:
            self.check_context(None)
        for baseline in self.task.baselines:
            if self.check_pins(baseline.pins, f"baseline '{baseline.name}'") and pins_ok:
                self.check_context(baseline)
        self.check_usage()

    # -- x ranges --------------------------------------------------------------------------

    def compute_x_ranges(self) -> None:
        """Each op's range of x: 1..count of its granularity data (or ``upto``); for an op a
        reduce stage runs, 1..count of the data the tree is built over."""
        prev_over: str | None = None
        reduce_over: dict[str, str] = {}
        for stage in self.task.stages:
            match stage:
                case MapStage(over=over) | ChainStage(over=over):
                    prev_over = over
                case ReduceStage(op=op) if prev_over is not None:
                    reduce_over.setdefault(op, prev_over)
        for op in self.ops.values():
            gran = op.granularity
            hi: Number | None = None
            if gran is not None:
                if gran.var != "x":
                    self.c.error(
                        codes.GRANULARITY_NAME,
                        f"the granularity of '{op.name}' is called '{gran.var}'; it must be 'x'",
                        self.span(gran),
                        f"write op {op.name}(x of {gran.data}); formulas use x for the units "
                        "one call handles",
                    )
                if not self.data_ref(gran.data, self.span(gran), f"the granularity of '{op.name}'"):
                    self.xrange[op.name] = None
                    continue
                hi = self.c.env.get(gran.data)
                if gran.upto is not None:
                    upto = self.c.value(
                        gran.upto, self.scope, self.span(gran), f"the 'upto' bound of '{op.name}'"
                    )
                    if upto is not None and (upto < 1 or not is_int(upto)):
                        self.c.error(
                            codes.NOT_A_COUNT,
                            f"the 'upto' bound of '{op.name}' must be a positive whole number, "
                            f"but it is {fmt_number(upto)}",
                            self.c.at(gran.upto, self.span(gran)),
                            "upto caps the units one call may handle",
                        )
                        upto = None
                    if upto is not None:
                        hi = upto if hi is None else min(hi, upto)
            elif op.name in reduce_over:
                hi = self.c.env.get(reduce_over[op.name])
            else:
                continue  # no x for this op
            self.xrange[op.name] = None if hi is None else (Fraction(1), hi)

    def x_points(self, op: Op) -> list[Number] | None:
        """The ends of ``op``'s x range, [] if it has no x, None if the range is unknown."""
        if op.name not in self.xrange:
            return []
        rng = self.xrange[op.name]
        if rng is None:
            return None
        lo, hi = rng
        return [lo] if hi == lo else [lo, hi]

    # -- ops -------------------------------------------------------------------------------

    def check_op(self, op: Op) -> None:
        span = self.span(op)
        for model in op.models:
            if model not in {m.name for m in self.c.spec.models}:
                self.c.error(
                    codes.UNKNOWN_MODEL,
                    f"unknown model '{model}' in op '{op.name}'",
                    span,
                    did_you_mean(model, [m.name for m in self.c.spec.models], "model"),
                )
        self.check_capable(op)
        if op.granularity is not None and op.granularity.var != "x":
            return  # reported: its formulas name another variable, so checking them is noise
        has_x = op.name in self.xrange
        scope = {**self.scope, "x": "granularity"} if has_x else self.scope
        hint = f"declare a granularity: op {op.name}(x of DATA)"
        points = self.x_points(op)
        for label, expr in (("reads", op.reads), ("writes", op.writes)):
            for x, val in self.at_points(
                expr, scope, span, f"'{label}' of '{op.name}'", points, hint
            ):
                if val < 0:
                    self.c.error(
                        codes.NEGATIVE_TOKENS,
                        f"op '{op.name}' {label} {fmt_number(val)} tokens{at_x(x)}",
                        self.c.at(expr, span),
                        "token counts cannot be negative",
                    )
                    break
        self.check_outcomes(op.success, f"the success of '{op.name}'", scope, span, points, hint)
        models = {m.name for m in self.c.spec.models}
        for per in op.success_on:
            pspan = self.c.at(per, span)
            if per.model not in models:
                self.c.error(
                    codes.UNKNOWN_MODEL,
                    f"unknown model '{per.model}' in the success of '{op.name}'",
                    pspan,
                    did_you_mean(per.model, models, "model"),
                )
            elif per.model not in op.models:
                self.c.error(
                    codes.NOT_OPS_MODEL,
                    f"op '{op.name}' gives a success on '{per.model}', which is not one of its "
                    "models",
                    pspan,
                    f"add '{per.model}' to the op's models or remove this line",
                )
            self.check_outcomes(
                per.outcomes,
                f"the success of '{op.name}' on '{per.model}'",
                scope,
                pspan,
                points,
                hint,
            )
        if op.rival is not None:
            for x, val in self.at_points(
                op.rival, scope, span, f"the rival of '{op.name}'", points, hint
            ):
                if not 0 <= val <= 1:
                    self.c.error(
                        codes.NOT_PROBABILITY,
                        f"the rival of '{op.name}' is {fmt_number(val)}{at_x(x)}; "
                        "it must be a probability in [0, 1]",
                        self.c.at(op.rival, span),
                        "the rival is the probability of the most common wrong answer",
                    )
                    break
        flag = op.red_flag
        if flag is not None:
            fspan = self.c.at(flag, span)
            if flag.max_writes is not None:
                for x, val in self.at_points(
                    flag.max_writes, scope, fspan, f"the red flag of '{op.name}'", points, hint
                ):
                    if not val > 0:
                        self.c.error(
                            codes.NOT_POSITIVE,
                            f"the red flag of '{op.name}' allows {fmt_number(val)} tokens"
                            f"{at_x(x)}; it must be positive",
                            self.c.at(flag.max_writes, fspan),
                            "the red flag discards responses longer than this many tokens",
                        )
                        break
            if flag.keep is not None:
                for x, val in self.at_points(
                    flag.keep, scope, fspan, f"the keep rate of '{op.name}'", points, hint
                ):
                    if not 0 < val <= 1:
                        self.c.error(
                            codes.BAD_KEEP,
                            f"the keep rate of '{op.name}' is {fmt_number(val)}{at_x(x)}; it "
                            "must be in (0, 1]",
                            self.c.at(flag.keep, fspan),
                            "keep is the fraction of responses that pass the red flags",
                        )
                        break
        self.check_fits(op, points)

    def check_capable(self, op: Op) -> None:
        known = {m.name: m for m in self.c.spec.models}
        capable = []
        for name in op.models:
            model = known.get(name)
            if model is None:
                continue
            if any(cap.op == op.name for cap in model.capabilities):
                capable.append(name)
            else:
                self.c.warn(
                    codes.MODEL_CANNOT,
                    f"model '{name}' is listed for op '{op.name}' but does not declare "
                    f"'can {op.name}'; it will not be used",
                    self.span(op),
                    f"add 'can {op.name}' to model '{name}' or remove it from the op",
                )
        if op.models and not capable and all(m in known for m in op.models):
            # one error says it all: drop the per-model warnings just made for this op
            self.c.diags = [
                d
                for d in self.c.diags
                if not (d.code == codes.MODEL_CANNOT and f"op '{op.name}'" in d.message)
            ]
            self.c.error(
                codes.NO_CAPABLE_MODEL,
                f"no model listed for op '{op.name}' can perform it",
                self.span(op),
                f"add 'can {op.name}' to one of: " + ", ".join(f"'{m}'" for m in op.models),
            )
        if not op.models:
            self.c.error(
                codes.NO_CAPABLE_MODEL,
                f"op '{op.name}' lists no model to run on",
                self.span(op),
                f"add 'on MODEL' to op '{op.name}'",
            )

    def at_points(
        self,
        expr: Expr,
        scope: Mapping[str, str],
        span: Span,
        what: str,
        points: list[Number] | None,
        x_hint: str = "",
        calls_of: Callable[[Number | None], Number] | None = None,
    ) -> list[tuple[Number | None, Number]]:
        """``expr`` evaluated at each x in ``points`` (once, without x, if ``points`` is []);
        ``calls_of(x)`` gives the value of ``calls`` where the formula may use it."""
        if not self.c.formula_ok(expr, scope, span, what, x_hint=x_hint):
            return []
        uses_x = any(ref.id in ("x", "calls") for ref in iter_names(expr))
        if points is None:
            if uses_x:
                return []
            points = []
        out: list[tuple[Number | None, Number]] = []
        for x in points if (points and uses_x) else [None]:
            env: dict[str, Number] = {} if x is None else {"x": x}
            if calls_of is not None:
                env["calls"] = calls_of(x)
            val = self.c.value(expr, scope, span, what + at_x(x), env)
            if val is None:
                return out
            out.append((x, val))
        return out

    def check_outcomes(
        self,
        outcomes: Iterable,
        what: str,
        scope: Mapping[str, str],
        span: Span,
        points: list[Number] | None,
        hint: str,
    ) -> None:
        outcomes = tuple(outcomes)
        weights: list[Number] = []
        for outcome in outcomes:
            ospan = self.c.at(outcome, span)
            for x, val in self.at_points(outcome.p, scope, ospan, what, points, hint):
                if not 0 <= val <= 1:
                    self.c.error(
                        codes.NOT_PROBABILITY,
                        f"{what} is {fmt_number(val)}{at_x(x)}; it must be a probability in [0, 1]",
                        self.c.at(outcome.p, ospan),
                        probability_hint(outcome.p, x),
                    )
                    break
            if len(outcomes) > 1:
                got = self.at_points(outcome.weight, self.scope, ospan, f"a weight in {what}", [])
                if got:
                    w = got[0][1]
                    if not 0 <= w <= 1:
                        self.c.error(
                            codes.NOT_PROBABILITY,
                            f"a weight in {what} is {fmt_number(w)}; weights are probabilities "
                            "in [0, 1]",
                            self.c.at(outcome.weight, ospan),
                        )
                    weights.append(w)
                else:
                    weights = []
                    break
        if len(outcomes) > 1 and len(weights) == len(outcomes):
            total = sum(weights)
            if not math.isclose(float(total), 1.0, rel_tol=0, abs_tol=1e-9):
                self.c.error(
                    codes.BAD_MIXTURE,
                    f"the weights in {what} add up to {fmt_number(total)}, not 1",
                    self.c.at(outcomes[0], span),
                    "a mixture's weights are the shares of each kind of input",
                )

    def check_fits(self, op: Op, points: list[Number] | None) -> None:
        """Warn when even the smallest call of ``op`` overflows every model's context."""
        if points is None:
            return
        x = points[0] if points else None
        size = self.call_tokens(op, x)
        contexts = self.contexts(op.models)
        if size is None or not contexts or any(size <= ctx for ctx in contexts.values()):
            return
        self.c.warn(
            codes.NEVER_FITS,
            f"op '{op.name}' needs {fmt_number(size)} tokens per call{at_x(x)}, more than the "
            "context window of every model it lists",
            self.span(op),
            "give it a model with a larger context, or make its calls smaller",
        )

    def call_tokens(self, op: Op, x: Number | None) -> Number | None:
        """reads + writes of one call of ``op`` at ``x`` (None if unknown), without history."""
        env = {**self.c.env, **({"x": x} if x is not None else {})}
        try:
            total = evaluate_exact(op.reads, env, finite=True) + evaluate_exact(
                op.writes, env, finite=True
            )
        except (EvalError, OverflowError, ValueError):
            return None
        return total if finite(total) else None

    def contexts(self, models: Iterable[str]) -> dict[str, Number]:
        out = {}
        for name in models:
            model = next((m for m in self.c.spec.models if m.name == name), None)
            if model is None:
                continue
            try:
                out[name] = evaluate_exact(model.context, self.c.env)
            except EvalError:
                continue
        return out

    # -- stages ----------------------------------------------------------------------------

    def check_stages(self) -> None:
        task = self.task
        if not task.stages:
            self.c.error(
                codes.NO_STAGES,
                f"task '{task.name}' has no stages, so nothing runs",
                self.span(task),
                "add a stage such as 'map OP over DATA' or 'chain OP over STEPS'",
            )
        previous = False
        for stage in task.stages:
            span = self.span(stage)
            match stage:
                case MapStage(ops=ops, over=over) | ChainStage(ops=ops, over=over):
                    kind = "map" if isinstance(stage, MapStage) else "chain"
                    for name in ops:
                        self.op_ref(name, span, f"'{kind}'")
                    self.data_ref(over, span, f"'{kind}'")
                    if isinstance(stage, MapStage):
                        self.check_map(stage, span)
                    previous = True
                case ReduceStage(op=op, fanin=fanin):
                    self.op_ref(op, span, "'reduce'")
                    if not previous:
                        self.c.error(
                            codes.REDUCE_FIRST,
                            "'reduce' has nothing to reduce: no map or chain stage comes before it",
                            span,
                            "put a 'map OP over DATA' stage before the reduce",
                        )
                    if fanin is not None:
                        val = self.c.value(fanin, self.scope, span, "the fan-in")
                        if val is not None and (val < 2 or not is_int(val)):
                            self.c.error(
                                codes.BAD_FANIN,
                                f"the fan-in of '{op}' is {fmt_number(val)}; it must be a whole "
                                "number of at least 2",
                                self.c.at(fanin, span),
                                "each node of the reduce tree merges 'fanin' results",
                            )
                case RouteStage(op=op, classifier=cls):
                    ok = self.op_ref(op, span, "'route'")
                    ok = self.op_ref(cls, span, "'route ... by'") and ok
                    if ok and op == cls:
                        self.c.error(
                            codes.BAD_ROUTE,
                            f"op '{op}' cannot be its own classifier",
                            span,
                            "route it by a separate, cheaper classifier op",
                        )
                    elif ok and not self.runs(op):
                        self.c.error(
                            codes.BAD_ROUTE,
                            f"'route {op}' routes an op that no map, chain or reduce stage runs",
                            span,
                            f"add a stage that runs '{op}'",
                        )
                case CombineStage():
                    previous = True

    def runs(self, name: str) -> bool:
        for stage in self.task.stages:
            match stage:
                case MapStage(ops=ops) | ChainStage(ops=ops) if name in ops:
                    return True
                case ReduceStage(op=op) if op == name:
                    return True
        return False

    def check_map(self, stage: MapStage, span: Span) -> None:
        if stage.overlap is not None:
            val = self.c.value(stage.overlap, self.scope, span, "the overlap")
            if val is not None and not 0 <= val < 1:
                self.c.error(
                    codes.BAD_OVERLAP,
                    f"the overlap is {fmt_number(val)}; it must be in [0, 1)",
                    self.c.at(stage.overlap, span),
                    "overlap 0.5 makes each window start halfway through the previous one",
                )
        if stage.success is None:
            return
        # x and calls: of the first op whose granularity is over the stage's data
        op = next(
            (
                self.ops[o]
                for o in stage.ops
                if o in self.ops
                and self.ops[o].granularity is not None
                and self.ops[o].granularity.data == stage.over
            ),
            None,
        )
        scope = {**self.scope, "calls": "the stage's number of calls"}
        count = self.c.env.get(stage.over)
        points: list[Number] | None = []
        if op is not None:
            scope["x"] = "granularity"
            points = self.x_points(op)
        calls_of = None
        if count is not None:

            def calls_of(x: Number | None, n: Number = count) -> Number:
                return n if x is None else chunks(n, x)

        elif "calls" in (ref.id for ref in iter_names(stage.success)):
            return  # the data's size is unknown (already reported)
        for x, val in self.at_points(
            stage.success, scope, span, "the stage's success", points, calls_of=calls_of
        ):
            if not 0 <= val <= 1:
                self.c.error(
                    codes.NOT_PROBABILITY,
                    f"the map's success is {fmt_number(val)}{at_x(x)}; it must be a "
                    "probability in [0, 1]",
                    self.c.at(stage.success, span),
                    probability_hint(stage.success, x),
                )
                break

    # -- boosters and requirements ---------------------------------------------------------

    def check_boosters(self) -> None:
        seen: dict[tuple[str, str, str], Any] = {}
        for booster in self.task.boosters:
            span = self.span(booster)
            kind = booster.kind if isinstance(booster, VoteBooster) else "retry"
            check = booster.check if isinstance(booster, RetryBooster) else ""
            for op in booster.ops or tuple(self.ops):
                key = (op, kind, check)
                if key in seen and seen[key] is not booster:
                    what = f"retry until {check}" if check else f"vote {kind}"
                    self.c.error(
                        codes.DUPLICATE,
                        f"op '{op}' is allowed '{what}' twice",
                        span,
                        f"the first is at line {self.span(seen[key]).line}: keep one (with the"
                        " larger max)",
                    )
                    break
                seen.setdefault(key, booster)
            for name in booster.ops:
                self.op_ref(name, span, "'allow ... on'")
            match booster:
                case VoteBooster(max=mx):
                    if mx is not None:
                        val = self.c.value(mx, self.scope, span, "the vote maximum")
                        if val is not None and (val < 1 or not is_int(val)):
                            self.c.error(
                                codes.BAD_VOTE_MAX,
                                f"the vote maximum is {fmt_number(val)}; it must be a whole "
                                "number of at least 1",
                                self.c.at(mx, span),
                                "max bounds the votes the optimizer may choose: 1, 2, 3, ...",
                            )
                case RetryBooster(check=chk, max=mx):
                    known = chk == "exact" or self.op_ref(chk, span, "'allow retry until'")
                    if known and chk in booster.ops:
                        self.c.error(
                            codes.BAD_ROUTE,
                            f"op '{chk}' cannot verify itself",
                            span,
                            "use a separate verifier op or 'until exact'",
                        )
                    if mx is not None:
                        val = self.c.value(mx, self.scope, span, "the retry maximum")
                        if val is not None and (val < 1 or not is_int(val)):
                            self.c.error(
                                codes.NOT_A_COUNT,
                                f"the retry maximum is {fmt_number(val)}; it must be a whole "
                                "number of at least 1",
                                self.c.at(mx, span),
                                "max bounds the tries per decision; omit it for unbounded retries",
                            )
        if self.task.workers is not None:
            span = self.span(self.task)
            val = self.c.value(self.task.workers, self.scope, span, "the number of workers")
            if val is not None and (val < 1 or not is_int(val)):
                self.c.error(
                    codes.NOT_A_COUNT,
                    f"the number of workers is {fmt_number(val)}; it must be a whole number of "
                    "at least 1",
                    self.c.at(self.task.workers, span),
                    "workers is how many calls may run at once",
                )

    def check_requirements(self) -> None:
        for req in self.task.requirements:
            span = self.span(req)
            if req.metric not in METRICS:
                self.c.error(
                    codes.UNKNOWN_METRIC,
                    f"unknown metric '{req.metric}' in 'require'",
                    span,
                    did_you_mean(req.metric, METRICS, "metric"),
                )
            val = self.c.value(req.bound, self.scope, span, f"the bound on {req.metric}")
            if val is None:
                continue
            if req.metric == "success" and not 0 <= val <= 1:
                self.c.error(
                    codes.BAD_BOUND,
                    f"the required success is {fmt_number(val)}; it must be a probability in "
                    "[0, 1]",
                    self.c.at(req.bound, span),
                    "for example: require success >= 0.99",
                )
            if req.metric == "success" and req.cmp == "<=":
                self.c.error(
                    codes.BAD_DIRECTION,
                    "an upper bound on success is not a requirement: the optimizer only makes"
                    " plans more reliable",
                    span,
                    "require a least success instead, e.g. 'require success >= 0.99'",
                )
            elif req.metric in METRICS and req.metric != "success" and req.cmp == ">=":
                self.c.error(
                    codes.BAD_DIRECTION,
                    f"a lower bound on {req.metric} is not a requirement: costs and latencies"
                    " are only bounded from above",
                    span,
                    f"bound it from above, e.g. 'require {req.metric} <= ...'",
                )
            elif req.metric != "success" and not val > 0:
                self.c.error(
                    codes.BAD_BOUND,
                    f"the bound on {req.metric} is {fmt_number(val)}; it must be positive",
                    self.c.at(req.bound, span),
                    "costs, budgets and latencies are above zero",
                )
        objective = self.task.objective
        if objective is None:
            self.c.report(
                "note",
                codes.DEFAULT_OBJECTIVE,
                f"task '{self.task.name}' has no objective; it will minimize cost",
                self.span(self.task),
                "state it explicitly, e.g. 'minimize dollars'",
            )
        elif objective.metric not in METRICS:
            self.c.error(
                codes.UNKNOWN_METRIC,
                f"unknown metric '{objective.metric}' in the objective",
                self.span(objective),
                did_you_mean(objective.metric, METRICS, "metric"),
            )
        elif (objective.sense == "maximize") != (objective.metric == "success"):
            wanted = "maximize" if objective.metric == "success" else "minimize"
            self.c.error(
                codes.BAD_SENSE,
                f"'{objective.sense} {objective.metric}': success is maximized and every other"
                " metric minimized",
                self.span(objective),
                f"write '{wanted} {objective.metric}'",
            )

    # -- usage -----------------------------------------------------------------------------

    def check_usage(self) -> None:
        used: set[str] = set()
        for stage in self.task.stages:
            match stage:
                case MapStage(ops=ops) | ChainStage(ops=ops):
                    used.update(ops)
                case ReduceStage(op=op):
                    used.add(op)
                case RouteStage(op=op, classifier=cls):
                    used.update((op, cls))
        for booster in self.task.boosters:
            if isinstance(booster, RetryBooster) and booster.check != "exact":
                used.add(booster.check)
        for op in self.ops.values():
            if op.name not in used:
                self.c.warn(
                    codes.UNUSED_OP,
                    f"op '{op.name}' is not used by any stage",
                    self.span(op),
                    f"run it in a stage (map/chain {op.name} over DATA), or remove it",
                )
