"""The canonical formatter: IR back to spec text.

``format_spec`` writes one clause per line, two-space indentation, formulas with the fewest
parentheses that parse back to the same tree, and numbers as they were written (``128k``). When
the spec came from the parser it also writes back the comments (each beside or above the clause
it was beside or above) and single blank lines where the source had blank lines. The output
parses back to an equal spec, and formatting it again changes nothing.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from fractions import Fraction

from aalp.front import ir
from aalp.front.literals import decode_string, number_value
from aalp.front.parser import keywords
from aalp.front.repeat import repeat_of

INDENT = "  "
WIDTH = 100

# Binding strength: a child needs parentheses when it binds more loosely than its place needs.
_SUM, _PRODUCT, _UNARY, _POWER, _ATOM = 1, 2, 3, 4, 5
_PREC = {"+": _SUM, "-": _SUM, "*": _PRODUCT, "/": _PRODUCT, "^": _POWER}


def format_expr(expr: ir.Expr) -> str:
    """A formula in canonical form, with minimal parentheses.

    >>> from aalp.front.parser import parse_expr
    >>> format_expr(parse_expr("((1 - p)) * (p ^ (x - 1))"))
    '(1 - p)*p^(x - 1)'
    """
    match expr:
        case ir.Num():
            return format_number(expr)
        case ir.Name(id=ident):
            return ident
        case ir.Call(func=func, args=args):
            return f"{func}(" + ", ".join(format_expr(a) for a in args) + ")"
        case ir.Neg(operand=operand):
            return "-" + _wrap(operand, _UNARY)
        case ir.BinOp(op="^", left=left, right=right):
            return _wrap(left, _ATOM) + "^" + _wrap(right, _UNARY)
        case ir.BinOp(op=op, left=left, right=right):
            prec = _PREC[op]
            sep = f" {op} " if prec == _SUM else op
            # left-associative: an equal-strength right operand needs parentheses
            return _wrap(left, prec) + sep + _wrap(right, prec + 1)
    raise TypeError(f"not a formula: {expr!r}")


def _strength(expr: ir.Expr) -> int:
    match expr:
        case ir.BinOp(op=op):
            return _PREC[op]
        case ir.Neg():
            return _UNARY
        case ir.Num(value=value) if value < 0:
            return _UNARY
    return _ATOM


def _wrap(expr: ir.Expr, needed: int) -> str:
    text = format_expr(expr)
    return f"({text})" if _strength(expr) < needed else text


def format_number(num: ir.Num) -> str:
    """The literal as written when it still denotes the value, else a canonical decimal."""
    if num.text and number_value(num.text) == num.value:
        return num.text
    value = num.value
    if value < 0:
        return "-" + format_number(ir.Num(-value))
    text = _decimal(value)
    if text is not None:
        return text
    return f"({value.numerator}/{value.denominator})"


def _decimal(value: Fraction) -> str | None:
    """``value`` as the shortest exact decimal literal, or None if it has none."""
    den = value.denominator
    twos = fives = 0
    while den % 2 == 0:
        den //= 2
        twos += 1
    while den % 5 == 0:
        den //= 5
        fives += 1
    if den != 1:
        return None
    scale = max(twos, fives)  # value = digits / 10^scale
    digits = value.numerator * 10**scale // value.denominator
    exponent = -scale
    while digits and digits % 10 == 0:
        digits //= 10
        exponent += 1
    if digits == 0:
        return "0"
    mantissa = str(digits)
    plain: str
    if exponent >= 0:
        plain = mantissa + "0" * exponent
    elif -exponent < len(mantissa):
        plain = mantissa[:exponent] + "." + mantissa[exponent:]
    else:
        plain = "0." + "0" * (-exponent - len(mantissa)) + mantissa
    scientific = mantissa + f"e{exponent}" if exponent else mantissa
    if len(mantissa) > 1 and exponent:
        point = mantissa[0] + "." + mantissa[1:]
        scientific = point + f"e{exponent + len(mantissa) - 1}"
    return plain if len(plain) <= len(scientific) + 2 else scientific


# ---------------------------------------------------------------------------------------------
# Strings
# ---------------------------------------------------------------------------------------------

_ESCAPED = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t", "\r": "\\r", "\0": "\\0"}


def quote(text: str) -> str:
    """A plain string literal for ``text`` (escapes ``\\ " \\n \\t \\r`` and control chars)."""
    out = []
    for ch in text:
        if ch in _ESCAPED:
            out.append(_ESCAPED[ch])
        elif not ch.isprintable() and ch != " ":
            out.append(f"\\u{{{ord(ch):x}}}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def _prompt_literal(text: str, depth: int) -> list[str]:
    """The literal for a prompt: triple-quoted over several lines when that is exact."""
    if "\n" in text and '"""' not in text and "\r" not in text:
        pad = INDENT * (depth + 1)
        body = [pad + line if line else "" for line in text.split("\n")]
        raw = "\n" + "\n".join(body) + "\n" + pad
        literal = '"""' + raw + '"""'
        if decode_string(literal) == (text, None):
            return ['"""', *body, pad + '"""']
    return [quote(text)]


# ---------------------------------------------------------------------------------------------
# Layout
# ---------------------------------------------------------------------------------------------


@dataclass
class _Line:
    """One printed line and the source lines it came from (0 when it has no source)."""

    depth: int
    text: str
    kind: str  # "leaf", "open" or "close"
    first: int = 0
    last: int = 0
    end: tuple[int, int] = (0, 0)
    blank_before: bool = False
    more: list[str] = field(default_factory=list)  # continuation lines (multi-line prompts)
    leading: list[ir.Comment] = field(default_factory=list)
    trailing: list[ir.Comment] = field(default_factory=list)


def _leaf(depth: int, text: str, span: ir.Span, blank: bool = False) -> _Line:
    end = (span.end_line, span.end_col)
    return _Line(depth, text, "leaf", span.line, span.end_line, end, blank)


def _open(depth: int, text: str, span: ir.Span, blank: bool = False) -> _Line:
    return _Line(depth, text, "open", span.line, span.line, (span.line, span.col), blank)


def _close(depth: int, span: ir.Span) -> _Line:
    return _Line(depth, "}", "close", span.end_line, span.end_line, (span.end_line, span.end_col))


def format_spec(spec: ir.Spec) -> str:
    """The canonical text of ``spec``; ``parse(format_spec(s)) == s``.

    >>> from aalp.front.parser import parse
    >>> print(format_spec(parse("param n=1k   # items")), end="")
    param n = 1k  # items
    """
    comments = spec.layout.comments
    lines: list[_Line] = []
    for param in spec.params:
        lines.append(_leaf(0, f"param {param.name} = {format_expr(param.value)}", param.span))
    if spec.attention is not None:
        lines.append(_leaf(0, f"attention {spec.attention.kind}", spec.attention.span, True))
    for model in spec.models:
        lines += _model(model)
    for tool in spec.tools:
        lines += _tool(tool)
    for task in spec.tasks:
        lines += _task(task, comments, spec.tools)
    return _render(lines, comments, spec.layout.blank_lines)


def speed_text(speed: ir.Speed) -> str:
    """A model's ``speed`` clause, overhead in milliseconds."""
    parts = ["speed"]
    if speed.prefill is not None:
        parts.append(f"prefill {format_expr(speed.prefill)} tok/s")
    if speed.decode is not None:
        parts.append(f"decode {format_expr(speed.decode)} tok/s")
    if speed.overhead_ms is not None:
        parts.append(f"overhead {format_expr(speed.overhead_ms)} ms")
    return " ".join(parts)


def _model(model: ir.Model) -> list[_Line]:
    out = [_open(0, f"model {model.name} {{", model.span, blank=True)]
    out.append(_leaf(1, f"size {format_expr(model.size)}", model.size.span))
    out.append(_leaf(1, f"context {format_expr(model.context)}", model.context.span))
    zero = ir.Num(Fraction(0))
    if model.price_in != zero or model.price_out != zero:
        text = f"price in {format_expr(model.price_in)} out {format_expr(model.price_out)} per Mtok"
        out.append(_leaf(1, text, _join(model.price_in.span, model.price_out.span)))
    if model.attention is not None:
        out.append(_leaf(1, f"attention {model.attention.kind}", model.attention.span))
    if model.speed is not None:
        out.append(_leaf(1, speed_text(model.speed), model.speed.span))
    run: list[ir.Capability] = []
    for cap in model.capabilities:
        if run and run[-1].routed != cap.routed:
            out.append(_can(run))
            run = []
        run.append(cap)
    if run:
        out.append(_can(run))
    out.append(_close(0, model.span))
    return out


def _tool(tool: ir.Tool) -> list[_Line]:
    out = [_open(0, f"tool {tool.name} {{", tool.span, blank=True)]
    if tool.price is not None:
        out.append(_leaf(1, f"price {format_expr(tool.price)} per call", tool.price.span))
    if tool.latency_ms is not None:
        out.append(_leaf(1, f"latency {format_expr(tool.latency_ms)} ms", tool.latency_ms.span))
    if tool.success is not None:
        out.append(_leaf(1, f"success {format_expr(tool.success)}", tool.success.span))
    out.append(_close(0, tool.span))
    return out


def _can(caps: list[ir.Capability]) -> _Line:
    text = "can " + ", ".join(c.op for c in caps) + (" if routed" if caps[0].routed else "")
    return _leaf(1, text, _join(caps[0].span, caps[-1].span))


def _join(a: ir.Span, b: ir.Span) -> ir.Span:
    if not a.line or not b.line:
        return a if a.line else b
    return ir.Span(a.file, a.line, a.col, b.end_line, b.end_col)


def _task(
    task: ir.Task, comments: tuple[ir.Comment, ...], tools: tuple[ir.Tool, ...] = ()
) -> list[_Line]:
    out = [_open(0, f"task {task.name} {{", task.span, blank=True)]
    section = -1

    def add(lines: list[_Line], kind: int) -> None:
        nonlocal section
        if lines:
            lines[0].blank_before = section != -1 and (kind != section or kind == 1)
            section = kind
            out.extend(lines)

    for datum in task.data:
        add([_leaf(1, _data(datum), datum.span)], 0)
    for op in task.ops:
        add(_op(op, _inherited(op, tools)), 1)
    for top, stage in enumerate(task.stages):
        add(_repeat_lines(_stage_lines(stage, 1), repeat_of(task, top)), 2)
    for booster in task.boosters:
        add([_leaf(1, _booster(booster), booster.span)], 3)
    for req in task.requirements:
        of = "" if req.data is None else f" of {req.data}"
        text = f"require {req.metric}{of} {req.cmp} {format_expr(req.bound)}"
        add([_leaf(1, text, req.span)], 3)
    if task.objective is not None:
        obj = task.objective
        add([_leaf(1, f"{obj.sense} {obj.metric}", obj.span)], 3)
    if task.workers is not None:
        add([_leaf(1, f"workers {format_expr(task.workers)}", task.workers.span)], 3)
    for pin in task.pins:
        add([_leaf(1, "pin " + _pin(pin), pin.span)], 3)
    for baseline in task.baselines:
        add(_baseline(baseline, comments), 4)
    out.append(_close(0, task.span))
    return out


def _data(datum: ir.Data) -> str:
    text = f"{datum.kind} {datum.name} = {format_expr(datum.count)}"
    if datum.tokens is not None:
        text += f" of {format_expr(datum.tokens)} tokens"
    return text


def _inherited(op: ir.Op, tools: tuple[ir.Tool, ...]) -> bool:
    """Whether ``op`` runs on a tool and its success is the tool's (the clause left out, or
    written the same): the canonical form then leaves it out."""
    tool = next((t for t in tools if t.name in op.models), None)
    if tool is None or len(op.success) != 1:
        return False
    p = tool.success if tool.success is not None else ir.Num(Fraction(1), "1")
    return op.success[0] == ir.Outcome(ir.Num(Fraction(1), "1"), p, p.span)


def _op(op: ir.Op, inherited: bool = False) -> list[_Line]:
    head = f"op {op.name}"
    if op.granularity is not None:
        g = op.granularity
        upto = f" upto {format_expr(g.upto)}" if g.upto is not None else ""
        head += f"({g.var} of {g.data}{upto})"
    if op.models:
        head += " on " + ", ".join(op.models)
    out = [_open(1, head + " {", op.span)]
    reads, writes = op.reads, op.writes
    if "reads" in op.io:
        out.append(_leaf(2, f"reads {format_expr(reads)} tokens", reads.span))
    if "writes" in op.io:
        out.append(_leaf(2, f"writes {format_expr(writes)} tokens", writes.span))
    if not inherited:
        success_span = op.success[0].span if op.success else ir.NO_SPAN
        out.append(_leaf(2, "success " + _outcomes(op.success), success_span))
    for ms in op.success_on:
        out.append(_leaf(2, f"success on {ms.model} {_outcomes(ms.outcomes)}", ms.span))
    if op.rival is not None:
        out.append(_leaf(2, f"rival {format_expr(op.rival)}", op.rival.span))
    if op.red_flag is not None:
        out.append(_leaf(2, _red_flag(op.red_flag), op.red_flag.span))
    if op.prompt is not None:
        out.append(_prompt(op.prompt))
    if op.answer != "text":
        out.append(_leaf(2, f"answer {op.answer}", op.answer_span))
    out.append(_close(1, op.span))
    return out


def _lead_safe(expr: ir.Expr) -> str:
    """A formula where a keyword may also stand (after ``success``, ``fanin``): wrapped in
    parentheses when it starts with a name spelled like a keyword (``success (on)``)."""
    text = format_expr(expr)
    first = expr
    while isinstance(first, ir.BinOp):
        first = first.left
    if isinstance(first, ir.Name) and first.id in keywords():
        return f"({text})"
    return text


def _outcomes(outcomes: tuple[ir.Outcome, ...]) -> str:
    if len(outcomes) == 1 and outcomes[0].weight == ir.Num(Fraction(1)):
        return _lead_safe(outcomes[0].p)
    parts = [f"{format_expr(o.weight)}: {format_expr(o.p)}" for o in outcomes]
    return "mixture(" + ", ".join(parts) + ")"


def _red_flag(flag: ir.RedFlag) -> str:
    conditions = []
    if flag.max_writes is not None:
        conditions.append(f"writes > {format_expr(flag.max_writes)} tokens")
    if flag.unparsable:
        conditions.append("unparsable")
    text = "red_flag " + " or ".join(conditions)
    if flag.keep is not None:
        text += f" keep {format_expr(flag.keep)}"
    return text


def _prompt(prompt: ir.Prompt) -> _Line:
    if prompt.file is not None:
        return _leaf(2, f"prompt file {quote(prompt.file)}", prompt.span)
    first, *more = _prompt_literal(prompt.text or "", 2)
    line = _leaf(2, "prompt " + first, prompt.span)
    line.more = more
    return line


def _stage_lines(stage: ir.Stage, depth: int) -> list[_Line]:
    """A stage's line; a nested one opens a block of its inner stages, one per line."""
    body = getattr(stage, "body", ())
    if not body:
        return [_leaf(depth, _stage(stage), stage.span)]
    out = [_open(depth, _stage(stage) + " {", stage.span)]
    for inner in body:
        out += _stage_lines(inner, depth + 1)
    out.append(_close(depth, stage.span))
    return out


def _repeat_lines(lines: list[_Line], repeat: ir.Repeat | None) -> list[_Line]:
    """A stage's lines inside ``repeat K then vote`` (unchanged when it runs once)."""
    if repeat is None:
        return lines
    count = "choose" if repeat.count is None else format_expr(repeat.count)
    lines[0].text = "repeat " + lines[0].text
    lines[-1].text += f" {count} then vote"
    return lines


def _stage(stage: ir.Stage) -> str:
    match stage:
        case ir.MapStage(ops=ops, over=over, overlap=overlap, success=success):
            text = f"map {', '.join(ops)} over {over}"
            if overlap is not None:
                text += f" overlap {format_expr(overlap)}"
            if success is not None:
                text += f" success {format_expr(success)}"
            return text
        case ir.ChainStage(ops=ops, over=over, history=history):
            text = f"chain {', '.join(ops)} over {over}"
            return text + (f" history {history}" if history != "stateless" else "")
        case ir.ReduceStage(op=op, fanin=fanin):
            return f"reduce {op} fanin " + ("choose" if fanin is None else _lead_safe(fanin))
        case ir.CombineStage(how=how):
            return f"combine {how}"
        case ir.RouteStage(op=op, classifier=classifier):
            return f"route {op} by {classifier}"
    raise TypeError(f"not a stage: {stage!r}")


def _booster(booster: ir.Booster) -> str:
    limit = f" max {format_expr(booster.max)}" if booster.max is not None else ""
    ops = f" on {', '.join(booster.ops)}" if booster.ops else ""
    match booster:
        case ir.VoteBooster(kind="judge", judge=judge):
            return f"allow vote judge {judge}{limit}{ops}"
        case ir.VoteBooster(kind=kind):
            return f"allow vote {kind}{limit}{ops}"
        case ir.RetryBooster(check=check):
            return f"allow retry{limit} until {check}{ops}"
        case ir.ExpandBooster(op=op, scorer=scorer, width=width, keep=keep, depth=depth):
            b = "choose" if width is None else format_expr(width)
            return f"expand {op} by {scorer} width {b} keep {format_expr(keep)} depth " + (
                format_expr(depth)
            )
    raise TypeError(f"not a booster: {booster!r}")


def _pin(pin: ir.Pin) -> str:
    return f"{pin.op}.{pin.field} = {format_expr(pin.value)}"


def _baseline(baseline: ir.Baseline, comments: tuple[ir.Comment, ...]) -> list[_Line]:
    span = baseline.span
    inner = any(span.line <= c.span.line <= span.end_line for c in comments) if span.line else False
    one = f"baseline {baseline.name} {{ " + "  ".join(_pin(p) for p in baseline.pins) + " }"
    if not baseline.pins:
        one = f"baseline {baseline.name} {{ }}"
    if not inner and len(INDENT) + len(one) <= WIDTH:
        return [_leaf(1, one, span)]
    out = [_open(1, f"baseline {baseline.name} {{", span)]
    out += [_leaf(2, _pin(p), p.span) for p in baseline.pins]
    out.append(_close(1, span))
    return out


# ---------------------------------------------------------------------------------------------
# Rendering with comments and blank lines
# ---------------------------------------------------------------------------------------------


def _render(lines: list[_Line], comments: tuple[ir.Comment, ...], blank: frozenset[int]) -> str:
    tail = _place_comments(lines, comments)
    out: list[tuple[str, str, bool]] = []  # (code, trailing comment, may align the comment)
    previous: _Line | None = None

    def emit(code: str, comment: str = "", align: bool = True) -> None:
        out.append((code, comment, align))

    def blank_line() -> None:
        if out and out[-1][0] != "":
            emit("")

    for line in lines:
        after_open = previous is not None and previous.kind == "open"
        can_blank = bool(out) and not after_open and line.kind != "close"
        anchors = [c.span.line for c in line.leading] + [line.first]
        if can_blank and (line.blank_before or (anchors[0] and anchors[0] - 1 in blank)):
            blank_line()
        pad = INDENT * (line.depth + (1 if line.kind == "close" else 0))
        for i, comment in enumerate(line.leading):
            if i and comment.span.line - 1 in blank:
                blank_line()
            emit(pad + comment.text)
        if line.leading and line.first and line.first - 1 in blank and line.kind != "close":
            blank_line()
        code = INDENT * line.depth + line.text
        more = line.more or _wrapped(code, line.depth)
        if more:
            code, *more = [code, *more] if line.more else more
            emit(code)
            for rest in more[:-1]:
                emit(rest)
            code = more[-1]
        emit(code, "  ".join(c.text for c in line.trailing), align=not more)
        previous = line
    for comment in tail:
        if comment.span.line - 1 in blank:
            blank_line()
        emit(comment.text)
    return "\n".join(_aligned(out)) + "\n"


def _wrapped(code: str, depth: int) -> list[str]:
    """A clause longer than ``WIDTH`` broken at operators outside parentheses (before ``+`` and
    ``-``, after ``*`` and ``/``), continuation lines indented twice more; [] when it fits or
    cannot be broken (text with strings is never broken)."""
    if len(code) <= WIDTH or '"' in code:
        return []
    pad = INDENT * (depth + 2)
    lines: list[str] = []
    rest = code
    while len(rest) > WIDTH:
        cut = _break_at(rest, WIDTH)
        if cut is None:
            break
        lines.append(rest[:cut].rstrip())
        rest = pad + rest[cut:].lstrip()
    lines.append(rest)
    return lines if len(lines) > 1 else []


def _break_at(text: str, width: int) -> int | None:
    """The last place to break ``text`` within ``width`` columns, outside parentheses."""
    depth = 0
    best = None
    for i, ch in enumerate(text[: width + 1]):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif depth == 0 and i > 0:
            if text[i - 1 : i + 2] in (" + ", " - "):
                best = i  # the operator begins the next line
            elif ch in "*/" and i + 1 <= width and not text.startswith("tok/s", i - 3):
                best = i + 1  # the operator ends this line (the unit tok/s is one word)
    return best


def _aligned(out: list[tuple[str, str, bool]]) -> list[str]:
    """Lines with their trailing comments; comments on consecutive one-line clauses share a
    column."""
    result: list[str] = []
    i = 0
    while i < len(out):
        j = i
        while j < len(out) and out[j][1] and out[j][2]:
            j += 1
        if j == i:
            code, comment, _ = out[i]
            result.append(f"{code}  {comment}" if comment else code)
            i += 1
            continue
        column = max(len(code) for code, _, _ in out[i:j]) + 2
        result += [code.ljust(column) + comment for code, comment, _ in out[i:j]]
        i = j
    return result


def _place_comments(lines: list[_Line], comments: tuple[ir.Comment, ...]) -> list[ir.Comment]:
    """Attach each comment to the line it trails or precedes; return those left at the end.

    A comment trails the printed line that ends last before it on its source line; otherwise
    it goes above the printed line whose source starts first after it.
    """
    covering: dict[int, list[_Line]] = {}
    for line in lines:
        if line.first:
            for n in range(line.first, line.last + 1):
                covering.setdefault(n, []).append(line)
    starts = sorted({line.first for line in lines if line.first})
    first_at: dict[int, _Line] = {}
    for line in lines:
        if line.first and line.first not in first_at:
            first_at[line.first] = line
    tail: list[ir.Comment] = []
    for comment in sorted(comments, key=lambda c: (c.span.line, c.span.col)):
        at = (comment.span.line, comment.span.col)
        owners = [line for line in covering.get(at[0], ()) if line.end < at]
        if owners:
            max(owners, key=lambda line: line.end).trailing.append(comment)
            continue
        index = bisect.bisect_right(starts, at[0])
        if index < len(starts):
            first_at[starts[index]].leading.append(comment)
        else:
            tail.append(comment)
    return tail
