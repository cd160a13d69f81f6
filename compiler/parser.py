"""The parser: spec text to IR, with every syntax error as a positioned diagnostic.

The grammar (``grammar/aalp.lark``) is LALR(1) with lark's contextual lexer, so keywords only
count where the grammar can accept them. Parsing runs lark's interactive parser in our own loop,
so one run reports every independent error. On an error we record a diagnostic, then repair, in
this order: insert the one missing token that lets the parse take the unexpected one (a name,
``=``, ``{``, ``)``); read a word that began the line as the clause keyword it spells when the
clause before it is unfinished; abandon unfinished constructs until a clause keyword or ``}``
fits (popping the parser stack); or drop the token (and later the partner of a dropped ``{`` or
``(``). Bad characters are skipped; a bad number or an unterminated string stands in as ``0`` or
``""``. An error within three tokens of the previous one is taken for its consequence and not
reported.

The parse tree is turned into IR by a structural, non-recursive transformer (deep formulas
cannot overflow the stack); checks that need no name resolution (a model without a size, a
duplicated clause, an unknown function or decision field) are made here as well, the rest in
``aalp.check``.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
from contextvars import ContextVar
from dataclasses import dataclass, field
from fractions import Fraction
from functools import cache
from importlib import resources
from typing import Any

from lark import Lark, Token, Transformer_NonRecursive, Tree, v_args
from lark.exceptions import LarkError, UnexpectedCharacters, UnexpectedInput, UnexpectedToken
from lark.parsers.lalr_interactive_parser import InteractiveParser

from . import ir
from .diagnostics import Diagnostic, SpecError

# An error within this many tokens of the previous one is taken for a consequence of it.
_CASCADE = 3
_FRESH = -(10**9)  # ``last_error`` when no error is recent

MAX_DEPTH = 100  # deepest formula accepted; later passes recurse over formulas
MAX_EXPONENT = 1000  # |decimal exponent| of a literal, suffix included
MAX_LITERAL = 400  # characters in one number literal

_SUFFIX = {"": 0, "k": 3, "M": 6, "G": 9, "T": 12}
_NUMBER = re.compile(r"(\d+(?:\.\d+)?|\.\d+)(?:[eE]([+-]?\d+))?([kMGT]?)")
_BAD_NUMBER = re.compile(r"[0-9.][A-Za-z0-9_.]*(?:[eE][+-][A-Za-z0-9_.]*)?")
_PRICE_SCALE = {"Mtok": 1, "ktok": 1000, "tok": 1000000}

_comments: ContextVar[list[Token] | None] = ContextVar("aalp_comments", default=None)


def _collect_comment(token: Token) -> Token:
    sink = _comments.get()
    if sink is not None:
        sink.append(token)
    return token


@cache
def _lark() -> Lark:
    grammar = resources.files("aalp.grammar")
    text = grammar.joinpath("aalp.lark").read_text(encoding="utf-8")
    # lark keeps the analysed LALR tables beside the grammar (start-up in milliseconds rather
    # than half a second); the file is keyed by a hash of the grammar, the options and the
    # versions, rebuilt when stale, and skipped when the directory is read-only. It lives in
    # the package, not the shared temp dir, because it is a pickle.
    return Lark(
        text,
        parser="lalr",
        lexer="contextual",
        propagate_positions=True,
        maybe_placeholders=False,
        start=["start", "formula"],
        lexer_callbacks={"COMMENT": _collect_comment},
        cache=str(grammar.joinpath("aalp.lark.cache")),
    )


# ---------------------------------------------------------------------------------------------
# Public API
# ---------------------------------------------------------------------------------------------


def parse(text: str, file: str = "<spec>") -> ir.Spec:
    """Parse a whole spec; raise ``SpecError`` with every syntax diagnostic found.

    >>> spec = parse("param n = 128k")
    >>> spec.params[0].value.value
    Fraction(128000, 1)
    """
    result = _parse(text, file, "start")
    assert isinstance(result, ir.Spec)
    return result


def parse_expr(text: str, file: str = "<expr>") -> ir.Expr:
    """Parse one formula (the value of a ``-D name=value`` override).

    >>> from aalp.printer import format_expr
    >>> format_expr(parse_expr("2^(d) - 1"))
    '2^d - 1'
    """
    result = _parse(text, file, "formula")
    assert not isinstance(result, ir.Spec)
    return result


# ---------------------------------------------------------------------------------------------
# The error-recovering driver
# ---------------------------------------------------------------------------------------------


@dataclass
class _Run:
    """The state of one parse: the text, the diagnostics so far, and what recovery needs."""

    text: str
    file: str
    errors: list[Diagnostic] = field(default_factory=list)
    tokens: int = 0  # tokens lexed so far
    last_error: int = _FRESH  # index of the token of the last error (reported or not)
    last_bad_char: int = -2  # offset of the last unexpected character
    skipped_to_end: bool = False
    occupied: set[int] = field(default_factory=set)
    last_token: Token | None = None
    prev_token: Token | None = None  # the token before ``last_token``
    lossy: bool = False  # tokens were dropped or constructs abandoned: the tree is partial
    unmatched: dict[str, int] = field(default_factory=lambda: {"RBRACE": 0, "RPAR": 0})
    # parser stacks before the previous and the current token, and whether each began a line
    before_prev: tuple[list, list] | None = None
    before_last: tuple[list, list] | None = None
    prev_starts: bool = False
    last_starts: bool = False

    def span(self, line: int, col: int, end_line: int | None = None, end_col: int | None = None):
        return ir.Span(self.file, line, col, end_line or line, end_col or col)

    def error(self, code: str, message: str, span: ir.Span, hint: str = "") -> None:
        self.errors.append(Diagnostic("error", code, message, span, hint))


def _parse(text: str, file: str, start: str) -> ir.Spec | ir.Expr:
    text = text.replace("\r\n", "\n")  # Windows line ends: columns stay the same
    run = _Run(text, file)
    comments: list[Token] = []
    reset = _comments.set(comments)
    try:
        tree = _drive(run, start)
        # after repairs that lose nothing (a bad literal replaced, a stray character skipped)
        # the tree is whole, and the checks below still find their errors
        if tree is None or (run.errors and run.lossy):
            raise SpecError(run.errors)
        syntax = len(run.errors)
        _check_depth(run, tree)
        if len(run.errors) > syntax:
            raise SpecError(_by_position(run.errors))
        builder = _Builder(run)
        result = builder.transform(tree)
        if run.errors:
            raise SpecError(_by_position(run.errors))
    except RecursionError:
        run.errors = [
            Diagnostic(
                "error",
                "E008",
                "the input is nested too deeply",
                run.span(1, 1),
                f"formulas may nest at most {MAX_DEPTH} levels",
            )
        ]
        raise SpecError(run.errors) from None
    except LarkError as exc:  # defensive: lark must never escape
        diagnostic = Diagnostic(
            "error", "E001", f"cannot parse: {exc}", run.span(1, 1), "this is a bug in aalp"
        )
        raise SpecError([diagnostic]) from None
    finally:
        _comments.reset(reset)
    if run.errors:
        raise SpecError(run.errors)
    if isinstance(result, ir.Spec):
        for c in comments:
            run.occupied.add(c.line)
        lines = text.count("\n") + 1
        blank = frozenset(n for n in range(1, lines + 1) if n not in run.occupied)
        layout = ir.Layout(
            comments=tuple(ir.Comment(c.value.rstrip(), _token_span(run, c)) for c in comments),
            blank_lines=blank,
        )
        params = _documented(result.params, layout.comments)
        result = ir.Spec(params, result.models, result.tasks, file, layout)
    return result


def _by_position(diagnostics: list[Diagnostic]) -> list[Diagnostic]:
    return sorted(diagnostics, key=lambda d: (d.span.line, d.span.col))


def _documented(params: tuple[ir.Param, ...], comments: tuple[ir.Comment, ...]):
    """Params with their ``doc``: the comment beside them, else the comment lines just above."""
    by_line = {c.span.line: c for c in comments}
    out = []
    for param in params:
        beside = by_line.get(param.span.end_line)
        if beside is not None and beside.span.col > param.span.end_col:
            doc = beside.text[1:].strip()
        else:
            above: list[str] = []
            line = param.span.line - 1
            while line in by_line and by_line[line].span.col == 1:
                above.insert(0, by_line[line].text[1:].strip())
                line -= 1
            doc = " ".join(above)
        out.append(dataclasses.replace(param, doc=doc) if doc else param)
    return tuple(out)


def _drive(run: _Run, start: str) -> Tree | None:
    """Feed every token to lark's LALR parser, recovering after each error."""
    ip = _lark().parse_interactive(run.text, start=start)
    state = ip.parser_state
    thread = ip.lexer_thread
    while True:
        try:
            for token in thread.lex(state):
                _advance(run, state, token)
                if run.unmatched.get(token.type):
                    # the closer of an opener dropped after an error goes the same way
                    run.unmatched[token.type] -= 1
                    run.last_error = run.tokens
                    continue
                _feed(run, state, token, ip)
            break
        except UnexpectedToken as exc:  # the contextual lexer's fallback: token consumed
            token = exc.token
            if token is None:
                run.tokens += 1
            else:
                _advance(run, state, token)
                if run.unmatched.get(token.type):
                    run.unmatched[token.type] -= 1
                    run.last_error = run.tokens
                    continue
            _recover(run, state, exc, ip)
        except UnexpectedCharacters as exc:
            _char_error(run, exc, ip)
        except UnexpectedInput as exc:  # pragma: no cover - other lark errors
            run.error("E001", str(exc), run.span(1, 1), "this is a bug in aalp")
            return None
    last = run.last_token
    end = Token.new_borrow_pos("$END", "", last) if last is not None else Token("$END", "", 0, 1, 1)
    try:
        return state.feed_token(end, True)
    except UnexpectedToken as exc:
        if not run.skipped_to_end and run.last_error != run.tokens:
            line, col = _end_position(run)
            expected = _expected(exc.expected)
            hint = "the input ends in the middle of a declaration"
            if "RBRACE" in exc.expected:
                hint = "a '}' is missing at the end"
            run.error(
                "E003", f"unexpected end of input; expected {expected}", run.span(line, col), hint
            )
        return None


def _advance(run: _Run, state: Any, token: Token) -> None:
    """Book-keeping for a token the lexer just produced, before the parser sees it."""
    run.tokens += 1
    _occupy(run, token)
    run.prev_token, run.last_token = run.last_token, token
    snapshot = (list(state.state_stack), list(state.value_stack))
    run.before_prev, run.before_last = run.before_last, snapshot
    run.prev_starts, run.last_starts = run.last_starts, _starts_line(run, token)


def _feed(run: _Run, state: Any, token: Token, ip: InteractiveParser) -> None:
    """Feed one token; a keyword the parser cannot take here is tried as a plain name.

    The contextual lexer picks the token type from the parser state before any reduction, and
    LALR shares that state among contexts: after ``answer.x = max`` the next word may be lexed
    as the keyword ``answer`` although only a name can follow there.
    """
    if _stray_declaration(run, token):
        return
    if token.type == "NAME" and _recovering(run) and run.last_starts:
        # just after an error, a clause keyword at the start of a line is taken as one even
        # where the broken construct could take a name (``param = 1`` then ``model m {``)
        kind = _keyword_types().get(token.value)
        if kind in _SYNC and _resync(state, Token.new_borrow_pos(kind, token.value, token)):
            run.last_error = _FRESH
            run.lossy = True
            return
    saved = (list(state.state_stack), list(state.value_stack))
    try:
        state.feed_token(token)
        return
    except UnexpectedToken as exc:
        error = exc
    state.state_stack[:], state.value_stack[:] = saved
    if token.type != "NAME" and token.value.isidentifier():
        try:
            state.feed_token(Token.new_borrow_pos("NAME", token.value, token))
            return
        except UnexpectedToken:
            state.state_stack[:], state.value_stack[:] = saved
    _recover(run, state, error, ip)


def _recover(run: _Run, state: Any, error: UnexpectedToken, ip: InteractiveParser) -> None:
    """Report ``error`` (unless it is a cascade), then repair: insert the one token that lets
    the parse take the unexpected one, or abandon unfinished constructs up to a clause
    keyword or ``}`` that fits, or else drop the token."""
    token = error.token
    if token is not None and _stray_declaration(run, token):
        return
    if token is not None and _reread_previous(run, state, token, ip):
        return
    expected = _token_error(run, error, ip)
    if token is None or token.type == "$END":
        return
    if run.last_starts:  # a new line starts a new clause, not the rest of a formula
        expected -= _OPERATORS
    if _insert(state, token, expected):
        return
    if token.type in _SYNC and _resync(state, token):
        run.last_error = _FRESH  # the parse is back on track: later errors are new ones
        return
    closer = {"LBRACE": "RBRACE", "LPAR": "RPAR"}.get(token.type)
    if closer:  # the token is dropped: so will be its partner
        run.unmatched[closer] += 1


def _reread_previous(run: _Run, state: Any, token: Token, ip: InteractiveParser) -> bool:
    """If the previous token began a line and reads as a clause keyword, it probably was one,
    taken as a name because the clause before it is unfinished (``steps s = 2^d -`` and then
    ``op move...``): report that, and go on from the keyword."""
    prev, before = run.prev_token, run.before_prev
    if prev is None or prev.type != "NAME" or not run.prev_starts or before is None:
        return False
    kind = _keyword_types().get(prev.value)
    if kind not in _SYNC:
        return False
    current = (list(state.state_stack), list(state.value_stack))
    state.state_stack[:], state.value_stack[:] = before
    keyword = Token.new_borrow_pos(kind, prev.value, prev)
    try:
        expected = set(ip.accepts())
    except LarkError:  # pragma: no cover - defensive
        expected = set()
    try:
        if not _resync(state, keyword):
            raise UnexpectedToken(keyword, set())
        state.feed_token(token)
    except UnexpectedToken:
        state.state_stack[:], state.value_stack[:] = current
        return False
    run.lossy = True
    if run.tokens - 1 - run.last_error > _CASCADE:  # not itself a cascade
        message = f"unexpected {_describe(keyword)}; expected {_expected(expected)}"
        hint = _hint(run, keyword, expected)
        if {"NUMBER", "NAME"} <= expected:
            hint = "the formula on the line before is unfinished"
        run.error("E001", message, _token_span(run, keyword), hint)
    run.last_error = _FRESH
    return True


# What to try inserting first: names and numbers, then punctuation, keywords, operators.
_PHANTOM = {"NAME": "_", "NUMBER": "0", "STRING": '""'}
_OPERATOR_ORDER = ("PLUS", "MINUS", "STAR", "SLASH", "CIRCUMFLEX")


def _insert(state: Any, token: Token, expected: set[str]) -> bool:
    """Feed one made-up token of an expected kind, then ``token``, if that parses."""
    texts = _terminal_text()

    def rank(kind: str) -> tuple[int, str]:
        if kind in _PHANTOM:
            return (0, kind)
        if kind in _OPERATOR_ORDER:
            return (3, str(_OPERATOR_ORDER.index(kind)))
        return (1 if not texts.get(kind, "x").isidentifier() else 2, kind)

    # never a keyword that starts a declaration or a clause: that guesses too much
    candidates = (k for k in expected if k != "$END" and k not in _SYNC)
    for kind in sorted(candidates, key=rank):
        value = _PHANTOM.get(kind, texts.get(kind, kind.lower()))
        trial = state.copy(deepcopy_values=False)
        try:
            trial.feed_token(Token.new_borrow_pos(kind, value, token))
            trial.feed_token(token)
        except UnexpectedToken:
            continue
        state.state_stack[:] = trial.state_stack
        state.value_stack[:] = trial.value_stack
        return True
    return False


def _stray_declaration(run: _Run, token: Token) -> bool:
    """While skipping after an error, a declaration keyword inside a line (``move.model``) is
    more likely a word of the broken text than a new declaration: drop it."""
    if token.type in {"PARAM", "MODEL", "TASK"} and _recovering(run) and not run.last_starts:
        run.last_error = run.tokens
        run.lossy = True
        return True
    return False


def _recovering(run: _Run) -> bool:
    """Whether the last error was within the last few tokens."""
    return run.tokens - run.last_error <= _CASCADE


def _starts_line(run: _Run, token: Token) -> bool:
    prev = run.prev_token
    return prev is None or (prev.end_line or 0) < (token.line or 0)


def keywords() -> frozenset[str]:
    """Every word that is a keyword somewhere in the language."""
    return frozenset(_keyword_types())


@cache
def _keyword_types() -> dict[str, str]:
    return {text: name for name, text in _terminal_text().items() if text.isidentifier()}


# Tokens that start a declaration, a clause or end a block: after an error at one of them the
# parser abandons the unfinished constructs (popping its stack) until the token fits.
_SYNC = {
    "PARAM", "MODEL", "TASK", "SIZE", "CONTEXT", "PRICE", "CAN", "STEPS", "ITEMS", "OP", "MAP",
    "CHAIN", "REDUCE", "COMBINE", "ROUTE", "ALLOW", "REQUIRE", "MINIMIZE", "MAXIMIZE", "WORKERS",
    "PIN", "BASELINE", "READS", "WRITES", "SUCCESS", "RIVAL", "RED_FLAG", "PROMPT", "ANSWER",
    "RBRACE",
}  # fmt: skip


def _resync(state: Any, token: Token) -> bool:
    """Pop the fewest parser states after which ``token`` is accepted; feed it. False if none."""
    for keep in range(len(state.state_stack) - 1, 0, -1):
        trial = state.copy(deepcopy_values=False)
        del trial.state_stack[keep:]
        del trial.value_stack[keep - 1 :]
        try:
            trial.feed_token(token)
        except UnexpectedToken:
            continue
        state.state_stack[:] = trial.state_stack
        state.value_stack[:] = trial.value_stack
        return True
    return False


def _occupy(run: _Run, token: Token) -> None:
    run.occupied.update(range(token.line or 1, (token.end_line or token.line or 1) + 1))


def _end_position(run: _Run) -> tuple[int, int]:
    last = run.last_token
    if last is None:
        lines = run.text.split("\n")
        return len(lines), len(lines[-1]) + 1
    return last.end_line or 1, last.end_column or 1


def _token_error(run: _Run, exc: UnexpectedToken, ip: InteractiveParser) -> set[str]:
    """Report an unexpected token unless it is a cascade; return what the parser accepts."""
    run.lossy = True
    index = run.tokens
    cascade = index - run.last_error <= _CASCADE
    run.last_error = index
    token = exc.token
    # LALR states are shared between contexts, so lark's expected set can be too wide; ask the
    # parser which tokens really advance it from here.
    try:
        expected = set(ip.accepts()) or set(exc.expected)
    except LarkError:  # pragma: no cover - defensive
        expected = set(exc.expected)
    if cascade or token is None or token.type == "$END":
        return expected
    prev = run.prev_token
    shown = set(expected)
    if prev is not None and prev.type == "NAME" and prev.value not in ir.FUNCTIONS:
        shown.discard("LPAR")  # a call of a name that is no function would be wrong too
    if run.last_starts and shown - _OPERATORS - {"LPAR"}:
        shown -= _OPERATORS  # a line rarely continues the formula of the line before
    message = f"unexpected {_describe(token)}; expected {_expected(shown)}"
    run.error("E001", message, _token_span(run, token), _hint(run, token, shown))
    return expected


def _char_error(run: _Run, exc: UnexpectedCharacters, ip: InteractiveParser) -> None:
    lexer_state = ip.lexer_thread.state
    state = ip.parser_state
    pos = exc.pos_in_stream
    text = run.text
    span = run.span(exc.line, exc.column)
    run.last_error = run.tokens + 1  # whatever follows a skipped stretch is a cascade
    if text.startswith('"""', pos):
        run.error(
            "E004",
            "unterminated triple-quoted string",
            span,
            'close it with """ (triple-quoted text cannot contain """)',
        )
        skip = len(text) - pos
        run.skipped_to_end = True
        run.lossy = True
    elif text[pos] == '"':
        end = text.find("\n", pos)
        end = len(text) if end < 0 else end
        run.error(
            "E004",
            "unterminated string",
            run.span(exc.line, exc.column, exc.line, exc.column + end - pos - 1),
            'close it with " on the same line, or use """ for text over several lines',
        )
        skip = end - pos
        _feed_placeholder(run, state, "STRING", '""', exc)
    elif text[pos].isdigit() or (text[pos] == "." and text[pos + 1 : pos + 2].isdigit()):
        match = _BAD_NUMBER.match(text, pos)
        blob = match.group(0) if match else text[pos]
        run.error(
            "E005",
            f"bad number '{blob}'",
            run.span(exc.line, exc.column, exc.line, exc.column + len(blob) - 1),
            "numbers look like 42, 0.998, 1e-6 or 128k (suffixes k M G T); "
            "write a product explicitly, as in 2*x",
        )
        skip = len(blob)
        _feed_placeholder(run, state, "NUMBER", "0", exc)
    else:
        if pos != run.last_bad_char + 1:
            char = text[pos]
            shown = repr(char) if not char.isprintable() or char.isspace() else f"'{char}'"
            try:
                allowed = set(ip.accepts())
            except LarkError:  # pragma: no cover - defensive
                allowed = {t for t in (exc.allowed or ()) if not t.startswith("__IGNORE")}
            message = f"unexpected character {shown}"
            if allowed:
                message += f"; expected {_expected(allowed)}"
            run.error("E002", message, span, "remove it, or put it inside a string or a comment")
        run.last_bad_char = pos
        skip = 1
    lexer_state.line_ctr.feed(text[pos : pos + skip])


def _feed_placeholder(run: _Run, state: Any, kind: str, value: str, exc: UnexpectedCharacters):
    """Stand in for a bad literal so the parse goes on as if it were there."""
    token = Token(kind, value, exc.pos_in_stream, exc.line, exc.column, exc.line, exc.column)
    try:
        state.feed_token(token)
        run.last_error = _FRESH
    except UnexpectedToken:
        run.lossy = True


# ---------------------------------------------------------------------------------------------
# Readable messages
# ---------------------------------------------------------------------------------------------

_WORDS = {
    "NUMBER": "a number",
    "NAME": "a name",
    "STRING": "a string",
    "$END": "the end of input",
}
_OPERATORS = {"PLUS", "MINUS", "STAR", "SLASH", "CIRCUMFLEX"}
_FIRST = ("NUMBER", "NAME", "STRING")


@cache
def _terminal_text() -> dict[str, str]:
    return {t.name: t.pattern.value for t in _lark().terminals if t.pattern.type == "str"}


def _describe(token: Token) -> str:
    match token.type:
        case "NAME":
            return f"name '{token.value}'"
        case "NUMBER":
            return f"number {token.value}"
        case "STRING":
            return "string"
        case "$END":
            return "end of input"
    return f"'{token.value}'"


def _expected(names: set[str] | frozenset[str]) -> str:
    words: list[str] = [_WORDS[n] for n in _FIRST if n in names]
    names = {n for n in names if n not in _FIRST and not n.startswith("__IGNORE")}
    operators = _OPERATORS & names
    if len(operators) >= 4:
        names -= operators
    texts = _terminal_text()
    quoted = sorted(f"'{texts[n]}'" if n in texts else _WORDS.get(n, n.lower()) for n in names)
    # keywords (letters) first, then punctuation, each alphabetically
    quoted.sort(key=lambda q: (not q[1:2].isalpha(), q))
    words += quoted
    if len(operators) >= 4:
        words.append("an operator (+ - * / ^)")
    if not words:
        return "nothing more"
    if len(words) == 1:
        return words[0]
    return ", ".join(words[:-1]) + " or " + words[-1]


def _hint(run: _Run, token: Token, expected: set[str]) -> str:
    texts = _terminal_text()
    keywords = [texts[n] for n in expected if n in texts and texts[n].isidentifier()]
    if token.type == "NAME" and keywords:
        close = difflib.get_close_matches(token.value, keywords, n=1, cutoff=0.6)
        if close:
            return f"did you mean '{close[0]}'?"
    if token.type in {"PARAM", "MODEL", "TASK"} and "RBRACE" in expected:
        return "a '}' may be missing before this line"
    if expected == {"NAME"}:
        return "a name goes here: letters, digits and _, not starting with a digit"
    if {"NUMBER", "NAME"} <= expected and token.type not in {"NUMBER", "NAME"}:
        return "a formula goes here: a number like 0.5 or 128k, a name, or (formula)"
    if token.type in {"NAME", "NUMBER"} and expected & _OPERATORS:
        return "two formulas in a row: is an operator missing?"
    if "RPAR" in expected:
        return "is a ')' missing?"
    if len(expected) == 1:
        return f"{_expected(expected)} must come here"
    if token.type == "NAME":
        return "this word is not a keyword here"
    return "see the language reference (docs/language.md) for this construct"


def _token_span(run: _Run, token: Token) -> ir.Span:
    line = token.line or 1
    col = token.column or 1
    end_line = token.end_line or line
    end_col = max((token.end_column or col + 1) - 1, 1)
    return ir.Span(run.file, line, col, end_line, end_col)


# ---------------------------------------------------------------------------------------------
# Depth guard (iterative, before the transformer builds nested IR)
# ---------------------------------------------------------------------------------------------

_EXPR_RULES = {"add", "sub", "mul", "div", "pow", "neg", "call"}


def _check_depth(run: _Run, tree: Tree) -> None:
    stack: list[tuple[Tree, int]] = [(tree, 0)]
    while stack:
        node, depth = stack.pop()
        if node.data in _EXPR_RULES:
            depth += 1
            if depth > MAX_DEPTH:
                meta = node.meta
                run.error(
                    "E008",
                    f"formula nested too deeply (more than {MAX_DEPTH} levels)",
                    run.span(meta.line, meta.column),
                    "split it with params, or simplify it",
                )
                return
        stack.extend((child, depth) for child in node.children if isinstance(child, Tree))


# ---------------------------------------------------------------------------------------------
# Literals
# ---------------------------------------------------------------------------------------------


def number_value(text: str) -> Fraction | None:
    """The exact value of a number literal, or None when it is malformed or out of range.

    >>> number_value("128k"), number_value("1.5e-3")
    (Fraction(128000, 1), Fraction(3, 2000))
    """
    match = _NUMBER.fullmatch(text)
    if match is None or len(text) > MAX_LITERAL:
        return None
    mantissa, exponent, suffix = match.groups()
    power = int(exponent or 0) + _SUFFIX[suffix]
    if abs(power) > MAX_EXPONENT:
        return None
    return Fraction(mantissa) * Fraction(10) ** power


_ESCAPES = {"\\": "\\", '"': '"', "n": "\n", "t": "\t", "r": "\r", "0": "\0"}
_ESCAPE = re.compile(r"\\(u\{[0-9A-Fa-f]{1,6}\}|.)", re.S)


def decode_string(literal: str) -> tuple[str, str | None]:
    """The text of a string literal and an error message (None when fine).

    Plain strings take the escapes ``\\\\ \\" \\n \\t \\r \\0 \\u{hex}``; triple-quoted
    strings are verbatim and dedented (see ``dedent``).
    """
    text, problem = _decode(literal)
    return text, problem[1] if problem else None


def _decode(literal: str) -> tuple[str, tuple[int, str] | None]:
    """The text of a literal and its first bad escape (offset in the literal, message)."""
    if literal.startswith('"""'):
        return dedent(literal[3:-3]), None
    body = literal[1:-1]
    problems: list[tuple[int, str]] = []

    def escape(m: re.Match[str]) -> str:
        code = m.group(1)
        if code in _ESCAPES:
            return _ESCAPES[code]
        if code.startswith("u{"):
            point = int(code[2:-1], 16)
            if point <= 0x10FFFF and not 0xD800 <= point <= 0xDFFF:
                return chr(point)
        problems.append((m.start() + 1, f"unknown escape '{m.group(0)}'"))
        return m.group(0)

    text = _ESCAPE.sub(escape, body)
    return text, problems[0] if problems else None


def dedent(raw: str) -> str:
    """The text of a triple-quoted string, from what lies between the quotes.

    1. If the first line is blank (the text starts on the line after the opening quotes), it is
       dropped; if the last line is blank (the closing quotes sit on a line of their own), it
       is dropped too.
    2. The longest run of spaces and tabs that starts every remaining non-blank line is removed;
       when the text starts right after the quotes, its first line is left out of that
       computation (and kept as written). Lines holding only spaces and tabs become empty.

    >>> dedent('''
    ...     Move one disk.
    ...       Answer in JSON.
    ...     ''')
    'Move one disk.\\n  Answer in JSON.'
    """
    lines = raw.split("\n")
    first_inline = True
    if len(lines) > 1 and not lines[0].strip(" \t"):
        lines = lines[1:]
        first_inline = False
    if len(lines) > 1 and not lines[-1].strip(" \t"):
        lines = lines[:-1]
    lines = [line if line.strip(" \t") else "" for line in lines]
    rest = lines[1:] if first_inline else lines
    indents = [len(line) - len(line.lstrip(" \t")) for line in rest if line]
    margin = min(indents, default=0)
    if margin:
        prefix = _common_prefix([line[:margin] for line in rest if line])
        margin = len(prefix)
    start = 1 if first_inline else 0
    out = lines[:start] + [line[margin:] for line in lines[start:]]
    return "\n".join(out)


def _common_prefix(prefixes: list[str]) -> str:
    first = prefixes[0] if prefixes else ""
    n = 0
    while n < len(first) and all(len(p) > n and p[n] == first[n] for p in prefixes):
        n += 1
    return first[:n]


# ---------------------------------------------------------------------------------------------
# The transformer: parse tree to IR
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Clause:
    """A clause of a block before it is placed into its IR node."""

    kind: str
    value: Any
    span: ir.Span


@v_args(meta=True)
class _Builder(Transformer_NonRecursive):
    """Builds IR bottom-up; collects (never raises) the structural errors it finds."""

    def __init__(self, run: _Run):
        super().__init__(visit_tokens=False)
        self.run = run

    def __default__(self, data, children, meta):  # pragma: no cover - grammar/IR mismatch
        raise NotImplementedError(f"no IR for grammar rule {data!r}")

    # -- helpers ------------------------------------------------------------------------------

    def _span(self, meta) -> ir.Span:
        if getattr(meta, "empty", True):
            return ir.Span(self.run.file, 1, 1, 1, 1)
        end = max(meta.end_column - 1, 1)
        return ir.Span(self.run.file, meta.line, meta.column, meta.end_line, end)

    def _tspan(self, token: Token) -> ir.Span:
        return _token_span(self.run, token)

    def _error(self, code: str, message: str, span: ir.Span, hint: str = "") -> None:
        self.run.error(code, message, span, hint)

    def _once(self, clauses: list[_Clause], what: str) -> dict[str, _Clause]:
        """Index clauses by kind, reporting any kind given twice."""
        seen: dict[str, _Clause] = {}
        for clause in clauses:
            if clause.kind in seen:
                first = seen[clause.kind].span
                self._error(
                    "E010",
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
                "E009",
                f"{what} needs {listed}",
                ir.Span(span.file, span.line, span.col, span.line, span.col),
                "add " + ", ".join(_EXAMPLES[k] for k in missing),
            )
        return not missing

    # -- top level ----------------------------------------------------------------------------

    def start(self, meta, children):
        params = tuple(c for c in children if isinstance(c, ir.Param))
        models = tuple(c for c in children if isinstance(c, ir.Model))
        tasks = tuple(c for c in children if isinstance(c, ir.Task))
        return ir.Spec(params, models, tasks, self.run.file)

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
        if not self._require(seen, ("size", "context"), what, span):
            return ir.Model(name.value, zero, zero, zero, zero, tuple(caps), span)
        price_in, price_out = seen["price"].value if "price" in seen else (zero, zero)
        return ir.Model(
            name.value,
            seen["size"].value,
            seen["context"].value,
            price_in,
            price_out,
            tuple(caps),
            span,
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
        return ir.Task(
            name=name.value,
            data=tuple(c for c in items if isinstance(c, ir.Data)),
            ops=tuple(c for c in items if isinstance(c, ir.Op)),
            stages=tuple(c for c in items if isinstance(c, stage_types)),
            boosters=tuple(c for c in items if isinstance(c, ir.VoteBooster | ir.RetryBooster)),
            requirements=tuple(c for c in items if isinstance(c, ir.Requirement)),
            objective=objective,
            pins=tuple(c for c in items if isinstance(c, ir.Pin)),
            baselines=tuple(c for c in items if isinstance(c, ir.Baseline)),
            workers=workers,
            span=span,
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
                    "E010",
                    f"{what} has two 'success on {ms.model}' clauses",
                    ms.span,
                    f"the first one is on line {models_seen[ms.model].line}; keep one",
                )
            models_seen.setdefault(ms.model, ms.span)
        zero = ir.Num(Fraction(0), "0")
        complete = self._require(seen, ("reads", "writes", "success"), what, span)
        return ir.Op(
            name=name.value,
            granularity=granularity,
            models=models,
            reads=seen["reads"].value if complete else zero,
            writes=seen["writes"].value if complete else zero,
            success=seen["success"].value if complete else (),
            success_on=tuple(per_model),
            rival=seen["rival"].value if "rival" in seen else None,
            red_flag=seen["red_flag"].value if "red_flag" in seen else None,
            prompt=seen["prompt"].value if "prompt" in seen else None,
            answer=seen["answer"].value if "answer" in seen else "text",
            span=span,
            answer_span=seen["answer"].span if "answer" in seen else ir.NO_SPAN,
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
                            "E010", "red_flag has two 'writes >' conditions", cspan, "keep one"
                        )
                    max_writes = expr
                case ("unparsable", _, cspan):
                    if unparsable:
                        self._error(
                            "E010", "red_flag has two 'unparsable' conditions", cspan, "keep one"
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
        text, problem = _decode(token.value)
        if problem:
            offset, message = problem
            span = self._tspan(token)
            col = span.col + offset
            self._error(
                "E011",
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
        names = tuple(n for n, _ in ops)
        return ir.MapStage(names, over.value, overlap, success, self._span(meta))

    def overlap(self, meta, children):
        return ("overlap", children[0])

    def stage_success(self, meta, children):
        return ("success", children[0])

    def chain_stage(self, meta, children):
        ops, over, *history = children
        names = tuple(n for n, _ in ops)
        policy = history[0] if history else "stateless"
        return ir.ChainStage(names, over.value, policy, self._span(meta))

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

    # -- boosters, requirements, objective, pins ----------------------------------------------

    def allow_vote(self, meta, children):
        kind, *rest = children
        limit = next((v for k, v in rest if k == "max"), None)
        ops = next((v for k, v in rest if k == "on"), ())
        return ir.VoteBooster(kind, limit, ops, self._span(meta))

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
        if token.value not in ir.METRICS:
            close = difflib.get_close_matches(token.value, ir.METRICS, n=1)
            hint = f"did you mean '{close[0]}'?" if close else "see docs/model.md for each metric"
            self._error(
                "E013",
                f"unknown metric '{token.value}'; the metrics are " + ", ".join(ir.METRICS),
                self._tspan(token),
                hint,
            )
        return token.value

    def require(self, meta, children):
        metric, cmp, bound = children
        return ir.Requirement(self._metric(metric), cmp, bound, self._span(meta))

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
                "E012",
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
                "E005",
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
                "E006",
                f"unknown function '{func.value}'; the functions are " + ", ".join(ir.FUNCTIONS),
                self._tspan(func),
                f"did you mean '{close[0]}'?" if close else "write the formula with these",
            )
        else:
            low, high = _ARITY[func.value]
            if not low <= len(args) <= high:
                want = str(low) if low == high else f"{low} to {high}"
                if high > 9:
                    want = f"at least {low}"
                self._error(
                    "E007",
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


_ARITY = {
    "log": (1, 2),
    "log2": (1, 1),
    "ln": (1, 1),
    "exp": (1, 1),
    "sqrt": (1, 1),
    "ceil": (1, 1),
    "floor": (1, 1),
    "min": (1, 99),
    "max": (1, 99),
}

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
