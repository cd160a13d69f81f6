"""The parse tree to IR: a structural, non-recursive lark transformer.

Every grammar rule has a method here; ``__default__`` raises, so no lark ``Tree`` can leak into
the IR. The builder never raises on bad input: it reports what it can see without resolving
names (a model without a size, a clause given twice, an unknown function, decision or metric,
a bad escape or an out-of-range number) through the ``report`` callback and goes on.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from aalp import codes
from aalp.front import ir
from aalp.front.literals import MAX_EXPONENT, MAX_LITERAL, decode_literal, number_value, token_span
from aalp.front.repeat import Repeated, unwrap_repeats
from aalp.front.tools import ToolRules, resolve_tool_ops
from lark import Token, v_args

Report = Callable[[str, str, ir.Span, str], None]  # code, message, span, hint

_PRICE_SCALE = {"Mtok": 1, "ktok": 1000, "tok": 1000000}


@dataclass(frozen=True)
class _Clause:
    """A clause of a block before it is placed into its IR node."""

    kind: str
    value: Any
    span: ir.Span


@v_args(meta=True)
class IRBuilder(ToolRules):
    """Builds IR bottom-up; reports (never raises) the structural errors it finds."""

    def __init__(self, file: str, report: Report):
        super().__init__(visit_tokens=False)
        self.file = file
        self.report = report

    def __default__(self, data, children, meta):  # pragma: no cover - grammar/IR mismatch
        raise NotImplementedError(f"no IR for grammar rule {data!r}")

    # -- helpers ------------------------------------------------------------------------------

    def _span(self, meta) -> ir.Span:
        if getattr(meta, "empty", True):
            return ir.Span(self.file, 1, 1, 1, 1)
        end = max(meta.end_column - 1, 1)
        return ir.Span(self.file, meta.line, meta.column, meta.end_line, end)

    def _tspan(self, token: Token) -> ir.Span:
        return token_span(self.file, token)

    def _error(self, code: str, message: str, span: ir.Span, hint: str = "") -> None:
        self.report(code, message, span, hint)

    def _clause(self, kind: str, value: Any, meta) -> _Clause:
        return _Clause(kind, value, self._span(meta))

    def _scaled(self, expr: ir.Expr, scale: int) -> ir.Expr:
        return _scaled(expr, scale)

    def _once(self, clauses: list[_Clause], what: str) -> dict[str, _Clause]:
        """Index clauses by kind, reporting any kind given twice."""
        seen: dict[str, _Clause] = {}
        for clause in clauses:
            if clause.kind in seen:
                first = seen[clause.kind].span
                self._error(
                    codes.DUPLICATE_CLAUSE,
                    f"{what} has two '{clause.kind}' clauses",
                    clause.span,
                    f"the first one is on line {first.line}; keep one",
                )
            else:
                seen[clause.kind] = clause
        return seen

    def _require(self, seen: dict[str, _Clause], kinds: tuple[str, ...], what: str, span):
        missing = [k for k in kinds if k not in seen]
        if missing:
            listed = " and ".join(f"'{k}'" for k in missing)
            self._error(
                codes.MISSING_CLAUSE,
                f"{what} needs {listed}",
                ir.Span(span.file, span.line, span.col, span.line, span.col),
                "add " + ", ".join(_EXAMPLES[k] for k in missing),
            )
        return not missing

    # -- top level ----------------------------------------------------------------------------

    def start(self, meta, children):
        params = tuple(c for c in children if isinstance(c, ir.Param))
        models = tuple(c for c in children if isinstance(c, ir.Model))
        tools = tuple(c for c in children if isinstance(c, ir.Tool))
        tasks = resolve_tool_ops(
            self,
            tuple(c for c in children if isinstance(c, ir.Task)),
            tools,
            {m.name for m in models},
        )
        settings = [c for c in children if isinstance(c, ir.Attention)]
        for extra in settings[1:]:
            self._error(
                codes.DUPLICATE_CLAUSE,
                "the spec has two 'attention' settings",
                extra.span,
                f"the first one is on line {settings[0].span.line}; keep one",
            )
        attention = settings[0] if settings else None
        return ir.Spec(params, models, tasks, self.file, attention=attention, tools=tools)

    def attention(self, meta, children):
        return ir.Attention(children[0].value, self._span(meta))

    def formula(self, meta, children):
        return children[0]

    def param(self, meta, children):
        name, value = children
        return ir.Param(name.value, value, span=self._span(meta))

    def name_list(self, meta, children):
        return [(c.value, self._tspan(c)) for c in children]

    # -- models -------------------------------------------------------------------------------

    def model(self, meta, children):
        name, *clauses = children
        span = self._span(meta)
        what = f"model '{name.value}'"
        caps: list[ir.Capability] = []
        for clause in clauses:
            if clause.kind == "can":
                caps.extend(clause.value)
        seen = self._once([c for c in clauses if c.kind != "can"], what)
        zero = ir.Num(Fraction(0), "0")
        attention = seen["attention"].value if "attention" in seen else None
        speed = seen["speed"].value if "speed" in seen else None
        if not self._require(seen, ("size", "context"), what, span):
            return ir.Model(name.value, zero, zero, zero, zero, tuple(caps), span, attention)
        price_in, price_out = seen["price"].value if "price" in seen else (zero, zero)
        return ir.Model(
            name.value,
            seen["size"].value,
            seen["context"].value,
            price_in,
            price_out,
            tuple(caps),
            span,
            attention,
            speed,
        )

    def model_size(self, meta, children):
        return _Clause("size", children[0], self._span(meta))

    def model_context(self, meta, children):
        return _Clause("context", children[0], self._span(meta))

    def model_price(self, meta, children):
        unit = children[2] if len(children) > 2 else "Mtok"
        scale = _PRICE_SCALE[unit]
        prices = tuple(_scaled(e, scale) for e in children[:2])
        return _Clause("price", prices, self._span(meta))

    def price_unit(self, meta, children):
        return children[-1].value

    def model_can(self, meta, children):
        names = children[0]
        routed = len(children) > 1
        return _Clause("can", [ir.Capability(n, routed, s) for n, s in names], self._span(meta))

    def routed(self, meta, children):
        return True

    def model_attention(self, meta, children):
        span = self._span(meta)
        return _Clause("attention", ir.Attention(children[0].value, span), span)

    def model_speed(self, meta, children):
        span = self._span(meta)
        parts = self._once(children, "the speed")
        get = {k: c.value for k, c in parts.items()}
        speed = ir.Speed(get.get("prefill"), get.get("decode"), get.get("overhead"), span)
        return _Clause("speed", speed, span)

    def speed_prefill(self, meta, children):
        return _Clause("prefill", children[0], self._span(meta))

    def speed_decode(self, meta, children):
        return _Clause("decode", children[0], self._span(meta))

    def speed_overhead(self, meta, children):
        value, unit = children
        return _Clause("overhead", _scaled(value, 1000) if unit == "s" else value, self._span(meta))

    def time_unit(self, meta, children):
        return children[0].value

    # -- tasks --------------------------------------------------------------------------------

    def task(self, meta, children):
        name, *items = children
        span = self._span(meta)
        what = f"task '{name.value}'"
        singles = [c for c in items if isinstance(c, _Clause)]
        seen = self._once(singles, what)
        objective = seen["objective"].value if "objective" in seen else None
        workers = seen["workers"].value if "workers" in seen else None
        stage_types = (ir.MapStage, ir.ChainStage, ir.ReduceStage, ir.CombineStage, ir.RouteStage)
        items, repeats = unwrap_repeats(items, stage_types)
        return ir.Task(
            name=name.value,
            data=tuple(c for c in items if isinstance(c, ir.Data)),
            ops=tuple(c for c in items if isinstance(c, ir.Op)),
            stages=tuple(c for c in items if isinstance(c, stage_types)),
            boosters=tuple(c for c in items if isinstance(c, ir.Booster)),
            requirements=tuple(c for c in items if isinstance(c, ir.Requirement)),
            objective=objective,
            pins=tuple(c for c in items if isinstance(c, ir.Pin)),
            baselines=tuple(c for c in items if isinstance(c, ir.Baseline)),
            workers=workers,
            span=span,
            repeats=repeats,
        )

    def steps(self, meta, children):
        name, count = children
        return ir.Data(name.value, "steps", count, None, self._span(meta))

    def items(self, meta, children):
        name, count, *size = children
        return ir.Data(name.value, "items", count, size[0] if size else None, self._span(meta))

    def item_size(self, meta, children):
        return children[0]

    # -- ops ----------------------------------------------------------------------------------

    def op(self, meta, children):
        name = children[0]
        span = self._span(meta)
        what = f"op '{name.value}'"
        granularity = next((c for c in children if isinstance(c, ir.Granularity)), None)
        models: tuple[str, ...] = ()
        clauses: list[_Clause] = []
        per_model: list[ir.ModelSuccess] = []
        for child in children[1:]:
            match child:
                case _Clause(kind="on"):
                    models = tuple(n for n, _ in child.value)
                case _Clause(kind="success_on"):
                    per_model.append(child.value)
                case _Clause():
                    clauses.append(child)
        seen = self._once(clauses, what)
        models_seen: dict[str, ir.Span] = {}
        for ms in per_model:
            if ms.model in models_seen:
                self._error(
                    codes.DUPLICATE_CLAUSE,
                    f"{what} has two 'success on {ms.model}' clauses",
                    ms.span,
                    f"the first one is on line {models_seen[ms.model].line}; keep one",
                )
            models_seen.setdefault(ms.model, ms.span)
        zero = ir.Num(Fraction(0), "0")
        # an op with an 'on' list may run on a tool: its missing clauses wait for the tools
        complete = bool(models) or self._require(seen, ("reads", "writes", "success"), what, span)
        return ir.Op(
            name=name.value,
            granularity=granularity,
            models=models,
            reads=seen["reads"].value if complete and "reads" in seen else zero,
            writes=seen["writes"].value if complete and "writes" in seen else zero,
            success=seen["success"].value if complete and "success" in seen else (),
            success_on=tuple(per_model),
            rival=seen["rival"].value if "rival" in seen else None,
            red_flag=seen["red_flag"].value if "red_flag" in seen else None,
            prompt=seen["prompt"].value if "prompt" in seen else None,
            answer=seen["answer"].value if "answer" in seen else "text",
            span=span,
            answer_span=seen["answer"].span if "answer" in seen else ir.NO_SPAN,
            io=tuple(k for k in ("reads", "writes") if k in seen),
        )

    def granularity(self, meta, children):
        var, data, *upto = children
        return ir.Granularity(var.value, data.value, upto[0] if upto else None, self._span(meta))

    def upto(self, meta, children):
        return children[0]

    def op_models(self, meta, children):
        return _Clause("on", children[0], self._span(meta))

    def reads(self, meta, children):
        return _Clause("reads", children[0], self._span(meta))

    def writes(self, meta, children):
        return _Clause("writes", children[0], self._span(meta))

    def _outcomes(self, value) -> tuple[ir.Outcome, ...]:
        if isinstance(value, tuple):
            return value
        return (ir.Outcome(ir.Num(Fraction(1), "1"), value, value.span),)

    def success(self, meta, children):
        return _Clause("success", self._outcomes(children[0]), self._span(meta))

    def success_on(self, meta, children):
        model, value = children
        span = self._span(meta)
        outcomes = self._outcomes(value)
        return _Clause("success_on", ir.ModelSuccess(model.value, outcomes, span), span)

    def mixture(self, meta, children):
        return tuple(children)

    def outcome(self, meta, children):
        weight, p = children
        return ir.Outcome(weight, p, self._span(meta))

    def rival(self, meta, children):
        return _Clause("rival", children[0], self._span(meta))

    def red_flag(self, meta, children):
        span = self._span(meta)
        max_writes: ir.Expr | None = None
        unparsable = False
        keep: ir.Expr | None = None
        for child in children:
            match child:
                case ("writes", expr, cspan):
                    if max_writes is not None:
                        self._error(
                            codes.DUPLICATE_CLAUSE,
                            "red_flag has two 'writes >' conditions",
                            cspan,
                            "keep one",
                        )
                    max_writes = expr
                case ("unparsable", _, cspan):
                    if unparsable:
                        self._error(
                            codes.DUPLICATE_CLAUSE,
                            "red_flag has two 'unparsable' conditions",
                            cspan,
                            "keep one",
                        )
                    unparsable = True
                case ("keep", expr, _):
                    keep = expr
        return _Clause("red_flag", ir.RedFlag(max_writes, unparsable, keep, span), span)

    def flag_writes(self, meta, children):
        return ("writes", children[0], self._span(meta))

    def flag_unparsable(self, meta, children):
        return ("unparsable", None, self._span(meta))

    def keep(self, meta, children):
        return ("keep", children[0], self._span(meta))

    def _string(self, token: Token) -> str:
        text, problem = decode_literal(token.value)
        if problem:
            offset, message = problem
            span = self._tspan(token)
            col = span.col + offset
            self._error(
                codes.BAD_ESCAPE,
                message,
                ir.Span(span.file, span.line, col, span.line, col + 1),
                'escapes are \\\\ \\" \\n \\t \\r \\0 and \\u{hex}; or use """ for verbatim text',
            )
        return text

    def prompt_text(self, meta, children):
        span = self._span(meta)
        return _Clause("prompt", ir.Prompt(text=self._string(children[0]), span=span), span)

    def prompt_file(self, meta, children):
        span = self._span(meta)
        return _Clause("prompt", ir.Prompt(file=self._string(children[0]), span=span), span)

    def answer(self, meta, children):
        return _Clause("answer", children[-1].value, self._span(meta))

    # -- stages -------------------------------------------------------------------------------

    def map_stage(self, meta, children):
        ops, over, *rest = children
        overlap = next((v for k, v in rest if k == "overlap"), None)
        success = next((v for k, v in rest if k == "success"), None)
        body = next((v for k, v in rest if k == "body"), ())
        names = tuple(n for n, _ in ops)
        return ir.MapStage(names, over.value, overlap, success, self._span(meta), body)

    def overlap(self, meta, children):
        return ("overlap", children[0])

    def stage_success(self, meta, children):
        return ("success", children[0])

    def chain_stage(self, meta, children):
        ops, over, *rest = children
        names = tuple(n for n, _ in ops)
        policy = next((v for v in rest if isinstance(v, str)), "stateless")
        body = next((v for k, v in (r for r in rest if isinstance(r, tuple))), ())
        return ir.ChainStage(names, over.value, policy, self._span(meta), body)

    def stage_body(self, meta, children):
        return ("body", tuple(children))

    def history(self, meta, children):
        return children[-1].value

    def reduce_stage(self, meta, children):
        op, *fanin = children
        return ir.ReduceStage(op.value, fanin[0] if fanin else None, self._span(meta))

    def fanin(self, meta, children):
        return children[0]

    def fanin_choose(self, meta, children):
        return None

    def combine_stage(self, meta, children):
        return ir.CombineStage(children[0].value, self._span(meta))

    def route_stage(self, meta, children):
        op, classifier = children
        return ir.RouteStage(op.value, classifier.value, self._span(meta))

    def repeat_stage(self, meta, children):
        stage, count = children
        return Repeated(stage, count, self._span(meta))

    def repeat_choose(self, meta, children):
        return None

    # -- boosters, requirements, objective, pins ----------------------------------------------

    def allow_vote(self, meta, children):
        kind, *rest = children
        limit = next((v for k, v in rest if k == "max"), None)
        ops = next((v for k, v in rest if k == "on"), ())
        return ir.VoteBooster(kind, limit, ops, self._span(meta))

    def allow_judge(self, meta, children):
        judge, *rest = children
        limit = next((v for k, v in rest if k == "max"), None)
        ops = next((v for k, v in rest if k == "on"), ())
        return ir.VoteBooster("judge", limit, ops, self._span(meta), judge.value)

    def expand(self, meta, children):
        op, scorer, width, keep, depth = children
        return ir.ExpandBooster(op.value, scorer.value, width, keep, depth, self._span(meta))

    def beam_width(self, meta, children):
        return children[0]

    def width_choose(self, meta, children):
        return None

    def vote_kind(self, meta, children):
        return children[0].value

    def allow_retry(self, meta, children):
        check: str = ""
        limit = None
        ops: tuple[str, ...] = ()
        for child in children:
            match child:
                case Token():
                    check = child.value
                case ("max", value):
                    limit = value
                case ("on", value):
                    ops = value
        return ir.RetryBooster(check, limit, ops, self._span(meta))

    def limit(self, meta, children):
        return ("max", children[0])

    def on_ops(self, meta, children):
        return ("on", tuple(n for n, _ in children[0]))

    def _metric(self, token: Token) -> str:
        if token.value not in ir.REQUIRE_METRICS:
            close = difflib.get_close_matches(token.value, ir.REQUIRE_METRICS, n=1)
            hint = f"did you mean '{close[0]}'?" if close else "see docs/model.md for each metric"
            self._error(
                codes.PARSE_UNKNOWN_METRIC,
                f"unknown metric '{token.value}'; the metrics are " + ", ".join(ir.REQUIRE_METRICS),
                self._tspan(token),
                hint,
            )
        return token.value

    def require(self, meta, children):
        metric, *of, cmp, bound = children
        data = of[0] if of else None
        return ir.Requirement(self._metric(metric), cmp, bound, self._span(meta), data)

    def require_of(self, meta, children):
        return children[0].value

    def compare(self, meta, children):
        return children[0].value

    def objective(self, meta, children):
        sense, metric = children
        span = self._span(meta)
        return _Clause("objective", ir.Objective(sense, self._metric(metric), span), span)

    def sense(self, meta, children):
        return children[0].value

    def workers(self, meta, children):
        return _Clause("workers", children[0], self._span(meta))

    def pin(self, meta, children):
        return children[0]

    def pin_body(self, meta, children):
        op, fld, value = children
        if fld.value not in ir.PIN_FIELDS:
            close = difflib.get_close_matches(fld.value, ir.PIN_FIELDS, n=1)
            self._error(
                codes.PARSE_UNKNOWN_FIELD,
                f"unknown decision '{op.value}.{fld.value}'; the decisions of an op are "
                + ", ".join(ir.PIN_FIELDS),
                self._tspan(fld),
                f"did you mean '{op.value}.{close[0]}'?"
                if close
                else "a pin fixes one decision of an op, as in move.x = 1",
            )
        return ir.Pin(op.value, fld.value, value, self._span(meta))

    def baseline(self, meta, children):
        name, *pins = children
        return ir.Baseline(name.value, tuple(pins), self._span(meta))

    # -- formulas -----------------------------------------------------------------------------

    def num(self, meta, children):
        token = children[0]
        value = number_value(token.value)
        if value is None:
            self._error(
                codes.BAD_NUMBER,
                f"number '{token.value[:40]}' is out of range",
                self._tspan(token),
                f"literals may have at most {MAX_LITERAL} characters and a decimal exponent "
                f"within ±{MAX_EXPONENT}; use a formula such as 2^64 for bigger sizes",
            )
            value = Fraction(0)
        return ir.Num(value, token.value, self._span(meta))

    def name(self, meta, children):
        return ir.Name(children[0].value, self._span(meta))

    def call(self, meta, children):
        func, *args = children
        span = self._span(meta)
        if func.value not in ir.FUNCTIONS:
            close = difflib.get_close_matches(func.value, ir.FUNCTIONS, n=1)
            self._error(
                codes.PARSE_UNKNOWN_FUNCTION,
                f"unknown function '{func.value}'; the functions are " + ", ".join(ir.FUNCTIONS),
                self._tspan(func),
                f"did you mean '{close[0]}'?" if close else "write the formula with these",
            )
        else:
            low, high = ir.ARITY[func.value]
            if not low <= len(args) <= high:
                want = str(low) if low == high else f"{low} to {high}"
                if high > 9:
                    want = f"at least {low}"
                self._error(
                    codes.PARSE_BAD_ARITY,
                    f"{func.value}() takes {want} argument{'s' if high > 1 else ''}, "
                    f"not {len(args)}",
                    span,
                    "log(x) is the natural logarithm, log(x, b) the logarithm in base b"
                    if func.value == "log"
                    else f"as in {func.value}(x)"
                    if high == 1
                    else f"as in {func.value}(a, b)",
                )
        return ir.Call(func.value, tuple(args), span)

    def neg(self, meta, children):
        return ir.Neg(children[0], self._span(meta))

    def _bin(self, op: ir.BinOpKind, children, meta):
        left, right = children
        return ir.BinOp(op, left, right, self._span(meta))

    def add(self, meta, children):
        return self._bin("+", children, meta)

    def sub(self, meta, children):
        return self._bin("-", children, meta)

    def mul(self, meta, children):
        return self._bin("*", children, meta)

    def div(self, meta, children):
        return self._bin("/", children, meta)

    def pow(self, meta, children):
        return self._bin("^", children, meta)


_EXAMPLES = {
    "size": "'size 1' (the relative model size)",
    "context": "'context 128k' (the context window in tokens)",
    "reads": "'reads 600 tokens'",
    "writes": "'writes 50 tokens'",
    "success": "'success 0.99' (the probability that one response is right)",
}


def _scaled(expr: ir.Expr, scale: int) -> ir.Expr:
    """A price per ``scale`` tokens, as a price per million tokens."""
    if scale == 1:
        return expr
    if isinstance(expr, ir.Num):
        return ir.Num(expr.value * scale, "", expr.span)
    return ir.BinOp("*", expr, ir.Num(Fraction(scale), str(scale)), expr.span)
