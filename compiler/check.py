"""The check pass: names, types, units and ranges of a parsed spec.

``check(spec, overrides)`` applies ``-D`` overrides, evaluates every parameter and data size, and
collects *all* problems (never just the first) as diagnostics with stable codes (the table is in
``aalp.codes``). Errors raise ``SpecError``; warnings and notes come back in ``Checked``.

The pass is structural and numeric only: it evaluates formulas at the ends of their ``x`` range
with exact fractions where it can, and never imports the heavy libraries (sympy, ortools, ...),
so ``aalp check`` stays fast.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from fractions import Fraction

from . import codes
from .diagnostics import Diagnostic, Severity, SpecError, UsageError, has_errors, sort_key
from .expr import ARITY, EvalError, Number, depth, evaluate_exact, iter_calls, iter_names
from .ir import (
    FUNCTIONS,
    METRICS,
    NO_SPAN,
    PIN_FIELDS,
    Baseline,
    BinOp,
    Call,
    ChainStage,
    CombineStage,
    Expr,
    MapStage,
    Model,
    Name,
    Neg,
    Num,
    Op,
    Pin,
    ReduceStage,
    RetryBooster,
    RouteStage,
    Span,
    Spec,
    Task,
    VoteBooster,
)
from .suggest import did_you_mean

# Formulas nested deeper than this are refused (they are never meant, and later passes recurse).
MAX_DEPTH = 200
VOTE_WORDS = ("none", "ahead_by", "majority")
HISTORY_WORDS = ("full", "stateless")
COMMAND_LINE = Span("<command line>", 0, 0, 0, 0)


@dataclass(frozen=True)
class Checked:
    """A spec that passed the checks.

    ``env`` maps every parameter and every data name to its value after ``-D`` overrides (a
    ``Fraction`` when exact, else a float); ``diagnostics`` holds the warnings and notes.
    """

    spec: Spec
    env: Mapping[str, Number]
    diagnostics: tuple[Diagnostic, ...] = field(default=())


def check(spec: Spec, overrides: Mapping[str, object] | None = None) -> Checked:
    """Check ``spec`` with ``-D`` ``overrides`` (name -> formula text, number or ``Expr``).

    Raise ``UsageError`` if an override names an unknown parameter or is not a formula, and
    ``SpecError`` carrying every diagnostic (errors and warnings, in source order) if the spec
    has errors; otherwise return the ``Checked`` spec with its warnings.
    """
    checker = _Checker(spec)
    params = checker.apply_overrides(dict(overrides or {}))
    checker.run(params)
    diags = sorted(checker.diags, key=sort_key)
    if has_errors(diags):
        raise SpecError(diags)
    return Checked(spec=spec, env=dict(checker.env), diagnostics=tuple(diags))


def fmt_number(value: Number) -> str:
    """A number as a user reads it: ``1048575``, ``0.25``, ``1.5e+30``."""
    if isinstance(value, Fraction):
        if value.denominator == 1 and abs(value) < 10**15:
            return str(value.numerator)
        value = float(value)
    if math.isinf(value):
        return "infinity" if value > 0 else "-infinity"
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.6g}"


def _is_int(value: Number) -> bool:
    if isinstance(value, Fraction):
        return value.denominator == 1
    return math.isfinite(value) and value == int(value)


def _chunks(count: Number, x: Number) -> Number:
    """ceil(count / x): the calls a stage makes over ``count`` units, x per call."""
    if isinstance(count, Fraction) and isinstance(x, Fraction):
        return _ceil(count / x)
    return _ceil(float(count) / float(x))


def _ceil(value: Number) -> Number:
    if isinstance(value, Fraction):
        return Fraction(math.ceil(value))
    return float(math.ceil(value)) if math.isfinite(value) else value


class _Checker:
    """Holds the diagnostics and the values found so far while walking one spec."""

    def __init__(self, spec: Spec):
        self.spec = spec
        self.diags: list[Diagnostic] = []
        self.env: dict[str, Number] = {}
        # Names whose value could not be computed: formulas using them are not evaluated, so one
        # mistake is reported once rather than at every use.
        self.broken: set[str] = set()
        self.used: set[str] = set()  # params and data referenced anywhere
        self.override_spans: dict[str, Expr] = {}

    # -- reporting -------------------------------------------------------------------------

    def report(
        self, severity: Severity, code: str, message: str, span: Span, hint: str = ""
    ) -> None:
        if span.line <= 0 and span is not COMMAND_LINE:
            span = Span(self.spec.file, 0, 0, 0, 0)
        self.diags.append(Diagnostic(severity, code, message, span, hint))

    def error(self, code: str, message: str, span: Span, hint: str = "") -> None:
        self.report("error", code, message, span, hint)

    def warn(self, code: str, message: str, span: Span, hint: str = "") -> None:
        self.report("warning", code, message, span, hint)

    @staticmethod
    def at(node: object, fallback: Span) -> Span:
        span = getattr(node, "span", NO_SPAN)
        return span if span.line > 0 else fallback

    # -- -D overrides ----------------------------------------------------------------------

    def apply_overrides(self, overrides: dict[str, object]) -> dict[str, Expr]:
        """The parameters' formulas with overrides substituted; raise ``UsageError`` on a bad
        override (an unknown name, a value that is not a formula)."""
        values: dict[str, Expr] = {}
        for param in self.spec.params:
            values.setdefault(param.name, param.value)
        order = [p.name for p in self.spec.params]
        problems: list[Diagnostic] = []

        def usage(code: str, message: str, hint: str = "") -> None:
            problems.append(Diagnostic("error", code, message, COMMAND_LINE, hint))

        for name in sorted(overrides):
            raw = overrides[name]
            if name not in values:
                usage(
                    codes.UNKNOWN_OVERRIDE,
                    f"-D {name}=...: the spec has no parameter '{name}'",
                    did_you_mean(name, values, "parameter"),
                )
                continue
            expr = _as_expr(raw)
            if expr is None:
                usage(
                    codes.BAD_OVERRIDE,
                    f"-D {name}={raw}: the value is not a formula",
                    "write a number or a formula of earlier parameters, e.g. -D n=1M",
                )
                continue
            earlier = set(order[: order.index(name)])
            for ref in iter_names(expr):
                if ref.id not in earlier:
                    usage(
                        codes.BAD_OVERRIDE,
                        f"-D {name}={raw}: '{ref.id}' is not a parameter declared before '{name}'",
                        "an override may use only parameters declared before the one it sets",
                    )
                    break
            else:
                values[name] = expr
                self.override_spans[name] = expr
        if problems:
            raise UsageError(problems)
        return values

    # -- formulas --------------------------------------------------------------------------

    def formula_ok(
        self,
        expr: Expr,
        scope: Mapping[str, str],
        fallback: Span,
        what: str,
        *,
        x_hint: str = "",
    ) -> bool:
        """Report unknown names and functions in ``expr``; True if it can be evaluated.

        ``scope`` maps each name allowed here to what it is (for messages).
        """
        if depth(expr) > MAX_DEPTH:
            self.error(
                codes.TOO_DEEP,
                f"the formula for {what} is nested more than {MAX_DEPTH} levels deep",
                self.at(expr, fallback),
                "simplify the formula or introduce parameters for its parts",
            )
            return False
        ok = True
        for call in iter_calls(expr):
            span = self.at(call, fallback)
            if call.func not in ARITY:
                self.error(
                    codes.UNKNOWN_FUNCTION,
                    f"unknown function '{call.func}'",
                    span,
                    did_you_mean(call.func, FUNCTIONS, "function"),
                )
                ok = False
                continue
            lo, hi = ARITY[call.func]
            if not lo <= len(call.args) <= hi:
                want = str(lo) if lo == hi else f"{lo} or {hi}" if hi - lo == 1 else f"{lo} or more"
                self.error(
                    codes.BAD_ARITY,
                    f"{call.func}() takes {want} argument{'s' if want != '1' else ''}, "
                    f"got {len(call.args)}",
                    span,
                )
                ok = False
        for ref in iter_names(expr):
            span = self.at(ref, fallback)
            if ref.id in scope:
                self.used.add(ref.id)
                if ref.id in self.broken:
                    ok = False
                continue
            ok = False
            if ref.id == "x":
                self.error(
                    codes.X_WITHOUT_GRANULARITY,
                    f"'x' is used in {what}, but there is no granularity here",
                    span,
                    x_hint or "'x' exists only inside an op declared as op NAME(x of DATA)",
                )
            else:
                self.error(
                    codes.UNKNOWN_NAME,
                    f"unknown name '{ref.id}' in {what}",
                    span,
                    did_you_mean(ref.id, scope, "name"),
                )
        return ok

    def value(
        self,
        expr: Expr,
        scope: Mapping[str, str],
        fallback: Span,
        what: str,
        extra: Mapping[str, Number] | None = None,
        *,
        x_hint: str = "",
    ) -> Number | None:
        """Check and evaluate ``expr``; None (after reporting why, if it is our fault) when it
        has no value."""
        if not self.formula_ok(expr, scope, fallback, what, x_hint=x_hint):
            return None
        env = {**self.env, **(extra or {})}
        try:
            result = evaluate_exact(expr, env)
        except EvalError as err:
            if any(ref.id in self.broken for ref in iter_names(expr)):
                return None
            self.error(
                codes.EVAL_FAILED,
                f"cannot evaluate {what}: {err}",
                self.at(err.node, self.at(expr, fallback)),
                "check the formula's values for this parameter setting",
            )
            return None
        return result

    # -- the walk --------------------------------------------------------------------------

    def run(self, param_values: dict[str, Expr]) -> None:
        self.check_duplicates()
        self.check_params(param_values)
        for task in self.spec.tasks:
            self.check_data(task)
        for model in self.spec.models:
            self.check_model(model)
        all_ops = {op.name for task in self.spec.tasks for op in task.ops}
        routed_ops = {
            stage.op
            for task in self.spec.tasks
            for stage in task.stages
            if isinstance(stage, RouteStage)
        }
        self.check_capabilities(all_ops, routed_ops)
        for task in self.spec.tasks:
            _TaskChecker(self, task).run()
        self.check_unused()
        # A typo makes the name it meant look unused: warn about unused declarations only once
        # the spec is otherwise correct, so every warning is worth reading.
        if has_errors(self.diags):
            unused = {codes.UNUSED_PARAM, codes.UNUSED_MODEL, codes.UNUSED_DATA, codes.UNUSED_OP}
            self.diags = [d for d in self.diags if d.code not in unused]

    def check_duplicates(self) -> None:
        def dupes(items: Iterable[tuple[str, Span]], kind: str) -> None:
            seen: dict[str, Span] = {}
            for name, span in items:
                if name in seen:
                    first = seen[name]
                    where = f" (first declared on line {first.line})" if first.line else ""
                    self.error(
                        codes.DUPLICATE,
                        f"{kind} '{name}' is declared twice{where}",
                        span,
                        f"rename one of them or remove the second {kind}",
                    )
                else:
                    seen[name] = span

        spec = self.spec
        dupes(((p.name, p.span) for p in spec.params), "parameter")
        dupes(((m.name, m.span) for m in spec.models), "model")
        dupes(((t.name, t.span) for t in spec.tasks), "task")
        # Data names share one namespace with the parameters (both are size names in
        # formulas), and env is flat, so a data name must differ from every parameter and from
        # the data of other tasks.
        owners: dict[str, str] = {p.name: "a parameter" for p in spec.params}
        for task in spec.tasks:
            local: set[str] = set()
            for datum in task.data:
                if datum.name in local:
                    self.error(
                        codes.DUPLICATE,
                        f"data '{datum.name}' is declared twice in task '{task.name}'",
                        datum.span,
                        "rename one of them or remove the second",
                    )
                elif datum.name in owners:
                    self.error(
                        codes.DUPLICATE,
                        f"data '{datum.name}' has the name of {owners[datum.name]}",
                        datum.span,
                        "parameters and data share one namespace; rename one of them",
                    )
                local.add(datum.name)
            for name in local:
                owners.setdefault(name, f"the data of task '{task.name}'")
        for task in spec.tasks:
            dupes(((o.name, o.span) for o in task.ops), "op")
            dupes(((b.name, b.span) for b in task.baselines), "baseline")
        for name, span in [(p.name, p.span) for p in spec.params] + [
            (d.name, d.span) for t in spec.tasks for d in t.data
        ]:
            if name in ("x", "calls"):
                self.error(
                    codes.RESERVED_NAME,
                    f"'{name}' is reserved and cannot be declared",
                    span,
                    "'x' is an op's granularity and 'calls' a stage's number of calls",
                )

    def check_params(self, values: dict[str, Expr]) -> None:
        declared = {p.name: p for p in self.spec.params}
        data_names = {d.name: t.name for t in self.spec.tasks for d in t.data}
        scope: dict[str, str] = {}
        done: set[str] = set()
        for param in self.spec.params:
            if param.name in done:
                continue  # a duplicate, already reported
            done.add(param.name)
            expr = values[param.name]
            overridden = param.name in self.override_spans
            fallback = param.span
            bad = False
            if not overridden:
                for ref in iter_names(expr):
                    span = self.at(ref, fallback)
                    if ref.id == param.name:
                        self.error(
                            codes.PARAM_CYCLE,
                            f"parameter '{param.name}' is defined in terms of itself",
                            span,
                            "give it a value that does not use its own name",
                        )
                        bad = True
                    elif ref.id in declared and ref.id not in scope:
                        later = declared[ref.id]
                        where = f" on line {later.span.line}" if later.span.line else ""
                        self.error(
                            codes.PARAM_ORDER,
                            f"parameter '{param.name}' uses '{ref.id}', which is declared "
                            f"later{where}",
                            span,
                            f"declare '{ref.id}' before '{param.name}'",
                        )
                        bad = True
                    elif ref.id in data_names:
                        self.error(
                            codes.UNKNOWN_NAME,
                            f"parameter '{param.name}' uses '{ref.id}', the data of task "
                            f"'{data_names[ref.id]}'",
                            span,
                            "parameters may use only parameters declared before them",
                        )
                        bad = True
            if bad:
                self.broken.add(param.name)
                scope[param.name] = "parameter"
                continue
            result = self.value(expr, scope, fallback, f"parameter '{param.name}'")
            scope[param.name] = "parameter"
            if result is None:
                self.broken.add(param.name)
            else:
                self.env[param.name] = result
        self.param_scope = scope

    def check_data(self, task: Task) -> None:
        scope = dict(self.param_scope)
        for datum in task.data:
            if datum.name in scope:
                continue  # a duplicate, already reported
            what = f"the size of data '{datum.name}'"
            count = self.value(datum.count, scope, datum.span, what)
            if count is not None:
                if isinstance(count, float) and math.isinf(count):
                    self.error(
                        codes.NOT_A_COUNT,
                        f"{what} is too large to represent (it overflows)",
                        self.at(datum.count, datum.span),
                        "sizes up to about 1e308 are supported",
                    )
                    count = None
                elif count < 1 or not _is_int(count):
                    self.error(
                        codes.NOT_A_COUNT,
                        f"{what} must be a positive whole number, but it is {fmt_number(count)}",
                        self.at(datum.count, datum.span),
                        "a count of items or steps: 1, 2, 3, ...",
                    )
                    count = None
            if datum.tokens is not None:
                tokens = self.value(
                    datum.tokens, scope, datum.span, f"the tokens of '{datum.name}'"
                )
                if tokens is not None and not tokens > 0:
                    self.error(
                        codes.NOT_POSITIVE,
                        f"data '{datum.name}' has {fmt_number(tokens)} tokens per unit; "
                        "it must be positive",
                        self.at(datum.tokens, datum.span),
                        "write the size of one unit in tokens, e.g. 'of 500 tokens'",
                    )
            scope[datum.name] = f"data of task '{task.name}'"
            if count is None:
                self.broken.add(datum.name)
            else:
                self.env[datum.name] = count

    def check_model(self, model: Model) -> None:
        scope = self.param_scope
        checks = (
            (model.size, "size", False),
            (model.context, "context window", False),
            (model.price_in, "input price", True),
            (model.price_out, "output price", True),
        )
        for expr, label, zero_ok in checks:
            what = f"the {label} of model '{model.name}'"
            val = self.value(expr, scope, model.span, what)
            if val is None:
                continue
            if val < 0 or (val == 0 and not zero_ok):
                self.error(
                    codes.NOT_POSITIVE,
                    f"{what} is {fmt_number(val)}; it must be "
                    + ("zero or more" if zero_ok else "positive"),
                    self.at(expr, model.span),
                    "prices are dollars per million tokens"
                    if zero_ok
                    else "sizes are relative weights and contexts are tokens, both above zero",
                )

    def check_capabilities(self, all_ops: set[str], routed_ops: set[str]) -> None:
        for model in self.spec.models:
            for cap in model.capabilities:
                span = self.at(cap, model.span)
                if cap.op not in all_ops:
                    self.error(
                        codes.UNKNOWN_OP,
                        f"model '{model.name}' can '{cap.op}', but no task has an op '{cap.op}'",
                        span,
                        did_you_mean(cap.op, all_ops, "op"),
                    )
                elif cap.routed and cap.op not in routed_ops:
                    self.error(
                        codes.ROUTED_WITHOUT_ROUTE,
                        f"model '{model.name}' can '{cap.op}' only if routed, but no stage "
                        f"routes '{cap.op}'",
                        span,
                        f"add a stage 'route {cap.op} by CLASSIFIER' or drop 'if routed'",
                    )

    def check_unused(self) -> None:
        for param in self.spec.params:
            if param.name not in self.used and param.name not in self.broken:
                self.warn(
                    codes.UNUSED_PARAM,
                    f"parameter '{param.name}' is never used",
                    param.span,
                    "remove it, or use it in a formula",
                )
        listed = {m for task in self.spec.tasks for op in task.ops for m in op.models}
        for model in self.spec.models:
            if model.name not in listed:
                self.warn(
                    codes.UNUSED_MODEL,
                    f"model '{model.name}' is not listed by any op",
                    model.span,
                    f"add it to an op's models ('on {model.name}') or remove it",
                )
        for task in self.spec.tasks:
            for datum in task.data:
                if datum.name not in self.used:
                    self.warn(
                        codes.UNUSED_DATA,
                        f"data '{datum.name}' of task '{task.name}' is never used",
                        datum.span,
                        "run a stage over it (map/chain OP over NAME) or remove it",
                    )


def _as_expr(raw: object) -> Expr | None:
    """An override value as a formula: text is parsed, numbers become literals."""
    if isinstance(raw, Num | Name | BinOp | Neg | Call):
        return raw
    match raw:
        case bool():
            return None
        case int() | Fraction():
            return Num(Fraction(raw), str(raw))
        case float() if math.isfinite(raw):
            return Num(Fraction(raw), repr(raw))
        case str():
            from .parser import parse_expr  # the parser is only needed for textual overrides

            try:
                return parse_expr(raw.strip())
            except SpecError:
                return None
            except Exception:  # a parser bug must not hide the usage error behind a traceback
                return None
    return None


class _TaskChecker:
    """The checks inside one task: ops, stages, boosters, requirements, pins, baselines."""

    def __init__(self, outer: _Checker, task: Task):
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
                if not self.data_ref(gran.data, self.span(gran), f"the granularity of '{op.name}'"):
                    self.xrange[op.name] = None
                    continue
                hi = self.c.env.get(gran.data)
                if gran.upto is not None:
                    upto = self.c.value(
                        gran.upto, self.scope, self.span(gran), f"the 'upto' bound of '{op.name}'"
                    )
                    if upto is not None and (upto < 1 or not _is_int(upto)):
                        self.c.error(
                            codes.NOT_A_COUNT,
                            f"the 'upto' bound of '{op.name}' must be a positive whole number, "
                            f"but it is {fmt_number(upto)}",
                            self.c.at(gran.upto, self.span(gran)),
                            "upto caps the units one call may handle",
                        )
                        upto = None
                    hi = upto if hi is None or upto is None else min(hi, upto)
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
                        f"op '{op.name}' {label} {fmt_number(val)} tokens{_at_x(x)}",
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
                        f"the rival of '{op.name}' is {fmt_number(val)}{_at_x(x)}; "
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
                            f"{_at_x(x)}; it must be positive",
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
                            f"the keep rate of '{op.name}' is {fmt_number(val)}{_at_x(x)}; it "
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
            val = self.c.value(expr, scope, span, what + _at_x(x), env)
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
                        f"{what} is {fmt_number(val)}{_at_x(x)}; it must be a probability in "
                        "[0, 1]",
                        self.c.at(outcome.p, ospan),
                        _probability_hint(outcome.p, x),
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
            f"op '{op.name}' needs {fmt_number(size)} tokens per call{_at_x(x)}, more than the "
            "context window of every model it lists",
            self.span(op),
            "give it a model with a larger context, or make its calls smaller",
        )

    def call_tokens(self, op: Op, x: Number | None) -> Number | None:
        """reads + writes of one call of ``op`` at ``x`` (None if unknown), without history."""
        env = {"x": x} if x is not None else {}
        try:
            return evaluate_exact(op.reads, {**self.c.env, **env}) + evaluate_exact(
                op.writes, {**self.c.env, **env}
            )
        except (EvalError, OverflowError, ValueError):
            return None

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
                        if val is not None and (val < 2 or not _is_int(val)):
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
                return n if x is None else _chunks(n, x)

        elif "calls" in (ref.id for ref in iter_names(stage.success)):
            return  # the data's size is unknown (already reported)
        for x, val in self.at_points(
            stage.success, scope, span, "the stage's success", points, calls_of=calls_of
        ):
            if not 0 <= val <= 1:
                self.c.error(
                    codes.NOT_PROBABILITY,
                    f"the map's success is {fmt_number(val)}{_at_x(x)}; it must be a "
                    "probability in [0, 1]",
                    self.c.at(stage.success, span),
                    _probability_hint(stage.success, x),
                )
                break

    # -- boosters and requirements ---------------------------------------------------------

    def check_boosters(self) -> None:
        for booster in self.task.boosters:
            span = self.span(booster)
            for name in booster.ops:
                self.op_ref(name, span, "'allow ... on'")
            match booster:
                case VoteBooster(max=mx):
                    if mx is not None:
                        val = self.c.value(mx, self.scope, span, "the vote maximum")
                        if val is not None and (val < 1 or not _is_int(val)):
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
                        if val is not None and (val < 1 or not _is_int(val)):
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
            if val is not None and (val < 1 or not _is_int(val)):
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

    # -- pins and baselines ----------------------------------------------------------------

    def check_pins(self, pins: Iterable[Pin], where: str) -> bool:
        """Check every pin; True when all are valid (then the context check can run)."""
        ok = True
        seen: dict[tuple[str, str], Pin] = {}
        pins = tuple(pins)
        for pin in pins:
            span = self.span(pin)
            if not self.op_ref(pin.op, span, where):
                ok = False
                continue
            if pin.field not in PIN_FIELDS:
                self.c.error(
                    codes.UNKNOWN_FIELD,
                    f"'{pin.op}.{pin.field}' in {where}: ops have no decision '{pin.field}'",
                    span,
                    did_you_mean(pin.field, PIN_FIELDS, "decision"),
                )
                ok = False
                continue
            key = (pin.op, pin.field)
            if key in seen:
                self.c.error(
                    codes.DUPLICATE,
                    f"'{pin.op}.{pin.field}' is pinned twice in {where}",
                    span,
                    "keep one of the two",
                )
                ok = False
                continue
            seen[key] = pin
            ok = self.check_pin(pin, span, where, pins) and ok
        return ok

    def check_pin(self, pin: Pin, span: Span, where: str, pins: tuple[Pin, ...]) -> bool:
        op = self.ops[pin.op]
        label = f"'{pin.op}.{pin.field}' in {where}"
        vspan = self.c.at(pin.value, span)
        word = pin.value.id if isinstance(pin.value, Name) else None

        def bad(message: str, hint: str = "") -> bool:
            self.c.error(codes.PIN_OUT_OF_RANGE, f"{label} {message}", vspan, hint)
            return False

        match pin.field:
            case "model":
                models = {m.name for m in self.c.spec.models}
                if word is None:
                    return bad("must name a model")
                if word not in models:
                    self.c.error(
                        codes.UNKNOWN_MODEL,
                        f"unknown model '{word}' in {label}",
                        vspan,
                        did_you_mean(word, op.models or models, "model"),
                    )
                    return False
                if word not in op.models:
                    return bad(
                        f"names '{word}', which is not one of the op's models",
                        "models of the op: " + ", ".join(f"'{m}'" for m in op.models),
                    )
                return True
            case "vote":
                if word not in VOTE_WORDS:
                    return bad(
                        "must be one of " + ", ".join(VOTE_WORDS),
                        did_you_mean(word, VOTE_WORDS, "vote kind") if word else "",
                    )
                return True
            case "history":
                if word not in HISTORY_WORDS:
                    return bad(
                        "must be 'full' or 'stateless'",
                        did_you_mean(word, HISTORY_WORDS, "history") if word else "",
                    )
                if pin.op not in self.chained:
                    return bad(
                        f"pins a history, but '{pin.op}' is not run by a chain stage",
                        "history applies to ops in 'chain' stages",
                    )
                return True
            case "retries" if word == "inf":
                return True
        if word is not None and word not in self.scope:
            hints = {
                "retries": "a whole number of at least 1, or inf",
                "x": "a number of units, e.g. 1 or the data's size",
            }
            if pin.field in hints:
                return bad(f"must be {hints[pin.field]}, not '{word}'")
        val = self.c.value(pin.value, self.scope, span, label)
        if val is None:
            return False
        match pin.field:
            case "x":
                rng = self.xrange.get(pin.op, "none")
                if rng == "none":
                    return bad(
                        f"pins x, but op '{pin.op}' has no granularity",
                        f"declare one: op {pin.op}(x of DATA)",
                    )
                if val < 1 or not _is_int(val):
                    return bad(f"is {fmt_number(val)}; x must be a whole number of at least 1")
                if rng is not None and val > rng[1]:
                    return bad(
                        f"is {fmt_number(val)}, above the largest x, {fmt_number(rng[1])}",
                        "x counts the units one call handles; it cannot exceed the data's size",
                    )
            case "votes":
                if val < 1 or not _is_int(val):
                    return bad(f"is {fmt_number(val)}; votes must be a whole number of at least 1")
                kind = next(
                    (
                        p.value.id
                        for p in pins
                        if p.op == pin.op and p.field == "vote" and isinstance(p.value, Name)
                    ),
                    None,
                )
                if kind == "majority" and val % 2 == 0:
                    return bad(
                        f"is {fmt_number(val)}; a majority vote needs an odd number of votes",
                        "use an odd K so there can be no tie",
                    )
            case "retries":
                if val < 1 or not _is_int(val):
                    return bad(
                        f"is {fmt_number(val)}; retries must be a whole number of at least 1"
                    )
            case "fanin":
                if pin.op not in self.reduced:
                    return bad(
                        f"pins a fan-in, but '{pin.op}' is not run by a reduce stage",
                        "fan-in applies to ops in 'reduce' stages",
                    )
                if val < 2 or not _is_int(val):
                    return bad(
                        f"is {fmt_number(val)}; a fan-in must be a whole number of at least 2"
                    )
        return True

    def check_context(self, baseline: Baseline) -> None:
        """Warn when a pinned baseline cannot fit a call into its model's context window."""
        pins = {(p.op, p.field): p for p in (*self.task.pins, *baseline.pins)}
        for op in self.ops.values():
            xpin = pins.get((op.name, "x"))
            x: Number | None = None
            if op.name in self.xrange:
                if xpin is None:
                    continue  # x is the optimizer's choice
                try:
                    x = evaluate_exact(xpin.value, self.c.env)
                except EvalError:
                    continue
            mpin = pins.get((op.name, "model"))
            models = [mpin.value.id] if mpin and isinstance(mpin.value, Name) else list(op.models)
            contexts = self.contexts(self.capable(op, models))
            size = self.call_tokens(op, x)
            if size is None or not contexts:
                continue
            history = self.history_of(op, pins)
            if history is not None:
                size = self.with_history(op, x, history, size)
            if all(size > ctx for ctx in contexts.values()):
                model, ctx = max(contexts.items(), key=lambda kv: kv[1])
                where = f" with x = {fmt_number(x)}" if x is not None else ""
                hist = " (including the conversation so far)" if history is not None else ""
                self.c.warn(
                    codes.BASELINE_OVERFLOW,
                    f"baseline '{baseline.name}': a call of '{op.name}'{where} needs "
                    f"{fmt_number(size)} tokens{hist}, more than the context window of "
                    f"'{model}' ({fmt_number(ctx)})",
                    self.span(xpin or mpin or baseline),
                    "the baseline is still reported, as infeasible",
                )

    def capable(self, op: Op, models: list[str]) -> list[str]:
        known = {m.name: m for m in self.c.spec.models}
        return [
            m for m in models if m in known and any(c.op == op.name for c in known[m].capabilities)
        ]

    def history_of(self, op: Op, pins: Mapping[tuple[str, str], Pin]) -> ChainStage | None:
        """The chain stage running ``op`` with full history under these pins, if any."""
        for stage in self.task.stages:
            if isinstance(stage, ChainStage) and op.name in stage.ops:
                pin = pins.get((op.name, "history"))
                full = (
                    pin.value.id == "full"
                    if pin is not None and isinstance(pin.value, Name)
                    else stage.history == "full"
                )
                return stage if full else None
        return None

    def with_history(self, op: Op, x: Number | None, stage: ChainStage, size: Number) -> Number:
        """The tokens of ``op``'s last call in a chain with full history (docs/model.md §3)."""
        count = self.c.env.get(stage.over)
        if count is None:
            return size
        gran = op.granularity
        chunks: Number = count
        if gran is not None and gran.data == stage.over and x is not None:
            chunks = _chunks(count, x)
        step = 0
        before = 0
        for name in stage.ops:
            other = self.ops.get(name)
            if other is None:
                continue
            tokens = self.call_tokens(other, x if other.granularity == gran else None)
            if tokens is None:
                return size
            step += tokens
            if name == op.name:
                break
            before += tokens
        else:
            return size
        total = step
        for name in stage.ops[stage.ops.index(op.name) + 1 :]:
            other = self.ops.get(name)
            tokens = (
                self.call_tokens(other, x if other.granularity == gran else None) if other else 0
            )
            total += tokens or 0
        return size + (chunks - 1) * total + before

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


def _at_x(x: Number | None) -> str:
    return "" if x is None else f" at x = {fmt_number(x)}"


def _probability_hint(expr: Expr, x: Number | None) -> str:
    if x is not None:
        return "the formula is evaluated at both ends of x's range; keep it within [0, 1]"
    if isinstance(expr, Num) and expr.value > 1 and expr.value <= 100:
        return f"write a probability, not a percentage: {fmt_number(expr.value / 100)}"
    return "probabilities lie between 0 and 1"
