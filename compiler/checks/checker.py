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
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

from aalp import codes
from aalp.checks.task import TaskChecker
from aalp.checks.values import finite, fmt_number, is_int
from aalp.diagnostics import Diagnostic, Severity, SpecError, UsageError, has_errors, sort_key
from aalp.front.expr import (
    ARITY,
    EvalError,
    Number,
    Overflow,
    depth,
    evaluate_exact,
    iter_calls,
    iter_names,
)
from aalp.front.ir import (
    FUNCTIONS,
    NO_SPAN,
    BinOp,
    Call,
    Expr,
    Model,
    Name,
    Neg,
    Num,
    RouteStage,
    Span,
    Spec,
    Task,
)
from aalp.suggest import did_you_mean

# Formulas nested deeper than this are refused (they are never meant, and later passes recurse).
MAX_DEPTH = 200
COMMAND_LINE = Span("<command line>", 0, 0, 0, 0)


@dataclass(frozen=True)
class Checked:
    """A spec that passed the checks.

    ``env`` maps every parameter and every data name to its value after ``-D`` overrides (a
    ``Fraction`` when exact, else a finite float); ``diagnostics`` holds the warnings and notes;
    ``prompt_dir`` is the folder its prompt files were read from (set by ``checks.loader``; None
    means the folder of ``spec.file``, if it has one).
    """

    spec: Spec
    env: Mapping[str, Number]
    diagnostics: tuple[Diagnostic, ...] = field(default=())
    prompt_dir: Path | None = None


def check(spec: Spec, overrides: Mapping[str, object] | None = None) -> Checked:
    """Check ``spec`` with ``-D`` ``overrides`` (name -> formula text, number or ``Expr``).

    Raise ``UsageError`` if an override names an unknown parameter or is not a formula, and
    ``SpecError`` carrying every diagnostic (errors and warnings, in source order) if the spec
    has errors; otherwise return the ``Checked`` spec with its warnings.
    """
    checker = SpecChecker(spec)
    params = checker.apply_overrides(dict(overrides or {}))
    checker.run(params)
    if checker.usage:  # an override whose value cannot be computed: the command line's fault
        raise UsageError(checker.usage)
    diags = sorted(checker.diags, key=sort_key)
    if has_errors(diags):
        raise SpecError(diags)
    return Checked(spec=spec, env=dict(checker.env), diagnostics=tuple(diags))


class SpecChecker:
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
        self.override_text: dict[str, str] = {}
        self.usage: list[Diagnostic] = []  # overrides whose value cannot be computed

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
            expr, why = _as_expr(raw)
            if expr is None:
                usage(
                    codes.BAD_OVERRIDE,
                    f"-D {name}={raw}: the value is not a formula" + (f" ({why})" if why else ""),
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
                self.override_text[name] = str(raw)
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
            result = evaluate_exact(expr, env, finite=True)
        except Overflow as err:
            self.error(
                codes.OVERFLOW,
                f"{err} (in {what})",
                self.at(err.node, self.at(expr, fallback)),
                "values must stay below about 1.8e308: use smaller numbers, or rewrite the "
                "formula (exp(-a) rather than 1/exp(a))",
            )
            return None
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
        if not self.spec.tasks:
            self.error(
                codes.NO_TASK,
                "the spec has no task, so there is nothing to optimize",
                Span(self.spec.file, 1, 1, 1, 1),
                "add one: task NAME { data, ops, stages, requirements } (docs/language.md, "
                "section 5)",
            )
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
            TaskChecker(self, task).run()
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
            if overridden:
                result = self.override_value(param.name, expr, scope)
            else:
                result = self.value(expr, scope, fallback, f"parameter '{param.name}'")
            scope[param.name] = "parameter"
            if result is None:
                self.broken.add(param.name)
            else:
                self.env[param.name] = result
        self.param_scope = scope

    def override_value(self, name: str, expr: Expr, scope: Mapping[str, str]) -> Number | None:
        """The value of ``-D name=expr``; None, with a usage diagnostic, if it has none (the
        formula is on the command line: no place in the spec to point at)."""
        if not self.formula_ok(expr, scope, COMMAND_LINE, f"-D {name}"):
            return None
        try:
            return evaluate_exact(expr, self.env, finite=True)
        except EvalError as err:
            if any(ref.id in self.broken for ref in iter_names(expr)):
                return None
            raw = self.override_text.get(name, "...")
            self.usage.append(
                Diagnostic(
                    "error",
                    codes.BAD_OVERRIDE,
                    f"-D {name}={raw}: the value cannot be computed: {err}",
                    COMMAND_LINE,
                    "give a value that is a finite number, e.g. -D n=1M",
                )
            )
            return None

    def check_data(self, task: Task) -> None:
        scope = dict(self.param_scope)
        for datum in task.data:
            if datum.name in scope:
                continue  # a duplicate, already reported
            what = f"the size of data '{datum.name}'"
            count = self.value(datum.count, scope, datum.span, what)
            if count is not None and (count < 1 or not is_int(count)):
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
                elif tokens is not None and count is not None and not finite(count * tokens):
                    total = Fraction(count) * Fraction(tokens)  # exact, for the message
                    self.error(
                        codes.OVERFLOW,
                        f"data '{datum.name}' holds {fmt_number(count)} units of "
                        f"{fmt_number(tokens)} tokens: {fmt_number(total)} tokens in all is too "
                        "large to compute",
                        datum.span,
                        "the tokens of a data set must stay below about 1.8e308",
                    )
                    count = None
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


def _as_expr(raw: object) -> tuple[Expr | None, str]:
    """An override value as a formula (text is parsed, numbers become literals), or None and
    why not."""
    if isinstance(raw, Num | Name | BinOp | Neg | Call):
        return raw, ""
    match raw:
        case bool():
            return None, "a truth value"
        case int() | Fraction():
            return Num(Fraction(raw), str(raw)), ""
        case float() if math.isfinite(raw):
            return Num(Fraction(raw), repr(raw)), ""
        case str():
            from aalp.front.parser import (
                parse_expr,  # the parser is only needed for textual overrides
            )

            try:
                return parse_expr(raw.strip()), ""
            except SpecError as err:
                return None, err.diagnostics[0].message if err.diagnostics else ""
            except Exception:  # a parser bug must not hide the usage error behind a traceback
                return None, ""
    return None, ""
