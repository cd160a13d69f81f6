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

The parse tree is turned into IR by ``aalp.front.build_ir``, a structural, non-recursive transformer
(deep formulas cannot overflow the stack), which also reports what needs no name resolution (a
model without a size, a duplicated clause, an unknown function or decision field); the rest is
``aalp.checks.checker``'s. Literals (numbers, strings) are defined in ``aalp.front.literals``.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

from aalp import codes
from aalp.diagnostics import Diagnostic, SpecError
from aalp.front import ir
from aalp.front.build_ir import IRBuilder
from aalp.front.literals import (  # noqa: F401 - re-exported: the literal rules belong to the language
    MAX_EXPONENT,
    MAX_LITERAL,
    decode_string,
    dedent,
    number_value,
    token_span,
)
from lark import Lark, Token, Tree
from lark.exceptions import LarkError, UnexpectedCharacters, UnexpectedToken
from lark.parsers.lalr_analysis import Shift
from lark.parsers.lalr_interactive_parser import InteractiveParser

# An error within this many tokens of the previous one is taken for a consequence of it.
_CASCADE = 3
_FRESH = -(10**9)  # ``last_error`` when no error is recent

MAX_DEPTH = 100  # deepest formula accepted; later passes recurse over formulas
# Parser states open at once (brackets, operators and blocks not yet closed). A formula of
# MAX_DEPTH levels needs at most about 4 per level; the limit keeps every step of error
# recovery cheap, so that a file of any shape is parsed in time linear in its length.
MAX_STACK = 4000
MAX_SYNTAX_ERRORS = 50  # syntax errors reported; the rest are counted in one note

_BAD_NUMBER = re.compile(r"[0-9.][A-Za-z0-9_.]*(?:[eE][+-][A-Za-z0-9_.]*)?")

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

    >>> from aalp.front.printer import format_expr
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
    bad_char_tokens: int = -1  # ``tokens`` at the last unexpected character
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
    # (parser state, token, context) of tokens dropped after an error: the same token in the
    # same state is dropped again at once, so a run of stray tokens costs linear time
    dead: set[tuple] = field(default_factory=set)
    expected_at: dict[tuple, set[str]] = field(default_factory=dict)  # _accepts by stack

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
            raise SpecError(_bounded(run.errors))
        syntax = len(run.errors)
        _check_depth(run, tree)
        if len(run.errors) > syntax:
            raise SpecError(_bounded(_by_position(run.errors)))
        result = IRBuilder(run.file, run.error).transform(tree)
        if run.errors:
            raise SpecError(_bounded(_by_position(run.errors)))
    except RecursionError:
        run.errors = [
            Diagnostic(
                "error",
                codes.PARSE_TOO_DEEP,
                "the input is nested too deeply",
                run.span(1, 1),
                f"formulas may nest at most {MAX_DEPTH} levels",
            )
        ]
        raise SpecError(run.errors) from None
    except LarkError as exc:  # defensive: lark must never escape
        diagnostic = Diagnostic(
            "error",
            codes.UNEXPECTED_TOKEN,
            f"cannot parse: {exc}",
            run.span(1, 1),
            "this is a bug in aalp",
        )
        raise SpecError([diagnostic]) from None
    finally:
        _comments.reset(reset)
    if run.errors:
        raise SpecError(_bounded(run.errors))
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
        result = ir.Spec(
            params, result.models, result.tasks, file, layout, result.attention, result.tools
        )
    return result


def _bounded(errors: list[Diagnostic]) -> list[Diagnostic]:
    """The first ``MAX_SYNTAX_ERRORS`` errors, then one note counting the others (at the first
    one not shown): past the first few, errors mostly follow from earlier ones."""
    if len(errors) <= MAX_SYNTAX_ERRORS:
        return errors
    rest = len(errors) - MAX_SYNTAX_ERRORS
    note = Diagnostic(
        "note",
        codes.TOO_MANY_ERRORS,
        f"{rest} more syntax error{'s' if rest != 1 else ''} not shown (the first "
        f"{MAX_SYNTAX_ERRORS} are)",
        errors[MAX_SYNTAX_ERRORS].span,
        "fix the errors above and run again: later ones often follow from earlier ones",
    )
    return [*errors[:MAX_SYNTAX_ERRORS], note]


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
    try:
        _lex_all(run, ip)
    except _TooDeep as deep:
        run.error(
            codes.PARSE_TOO_DEEP,
            f"the input is nested too deeply (more than {MAX_STACK} brackets, operators and "
            "blocks open at once)",
            _token_span(run, deep.token),
            f"formulas may nest at most {MAX_DEPTH} levels; split it with params",
        )
        run.lossy = True
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
                codes.UNEXPECTED_END,
                f"unexpected end of input; expected {expected}",
                run.span(line, col),
                hint,
            )
        return None


class _TooDeep(Exception):
    """More than ``MAX_STACK`` parser states are open at ``token``."""

    def __init__(self, token: Token):
        super().__init__(token)
        self.token = token


def _lex_all(run: _Run, ip: InteractiveParser) -> None:
    """Lex and feed every token, recovering after each error; raise ``_TooDeep`` when the
    parser has more than ``MAX_STACK`` states open."""
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
            return
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
                key = _drop_key(run, state, token, "lexer") if _recovering(run) else None
                if key is not None and key in run.dead:
                    _drop_again(run, token)
                    continue
                _recover(run, state, exc, ip, key)
                continue
            _recover(run, state, exc, ip)
        except UnexpectedCharacters as exc:
            _char_error(run, exc, ip)


def _advance(run: _Run, state: Any, token: Token) -> None:
    """Book-keeping for a token the lexer just produced, before the parser sees it."""
    if len(state.state_stack) > MAX_STACK:
        raise _TooDeep(token)
    run.tokens += 1
    _occupy(run, token)
    run.prev_token, run.last_token = run.last_token, token
    starts = _starts_line(run, token)
    # the stacks before a name that begins a line, in case it proves to be a keyword
    # (``_reread_previous``); other tokens need none, and copying deep stacks costs time
    snapshot = None
    if token.type == "NAME" and starts:
        snapshot = (list(state.state_stack), list(state.value_stack))
    run.before_prev, run.before_last = run.before_last, snapshot
    run.prev_starts, run.last_starts = run.last_starts, starts


def _feed(run: _Run, state: Any, token: Token, ip: InteractiveParser) -> None:
    """Feed one token; a keyword the parser cannot take here is tried as a plain name.

    The contextual lexer picks the token type from the parser state before any reduction, and
    LALR shares that state among contexts: after ``answer.x = max`` the next word may be lexed
    as the keyword ``answer`` although only a name can follow there.
    """
    if _stray_declaration(run, token):
        return
    key = _drop_key(run, state, token, "feed") if _recovering(run) else None
    if key is not None and key in run.dead:
        _drop_again(run, token)
        return
    if token.type == "NAME" and _recovering(run) and run.last_starts:
        # just after an error, a clause keyword at the start of a line is taken as one even
        # where the broken construct could take a name (``param = 1`` then ``model m {``)
        kind = _keyword_types().get(token.value)
        if kind in _SYNC and _resync(state, Token.new_borrow_pos(kind, token.value, token)):
            run.last_error = _FRESH
            run.lossy = True
            return
    # decided on the parse table first, so a token that does not fit leaves the parser as it
    # was (a failed feed would have reduced part of the stack)
    if _feeds(state, (token.type,)):
        state.feed_token(token)
        return
    if token.type != "NAME" and token.value.isidentifier() and _feeds(state, ("NAME",)):
        state.feed_token(Token.new_borrow_pos("NAME", token.value, token))
        return
    choices = {t for t in state.parse_conf.states[state.state_stack[-1]] if t.isupper()}
    _recover(run, state, UnexpectedToken(token, choices), ip, key)


def _drop_key(run: _Run, state: Any, token: Token, via: str) -> tuple:
    """What decides how a token met while recovering (an error is recent) is repaired: the
    parser's states, the token, whether it starts a line, and the previous token if it may be
    re-read as a keyword."""
    prev, before = run.prev_token, run.before_prev
    reread = None
    if (
        prev is not None
        and prev.type == "NAME"
        and run.prev_starts
        and before is not None
        and _keyword_types().get(prev.value) in _SYNC
    ):
        reread = (prev.value, tuple(before[0]))
    value = token.value if token.value.isidentifier() else None
    stack = tuple(state.state_stack)
    return (via, stack, token.type, value, run.last_starts, reread)


def _drop_again(run: _Run, token: Token) -> None:
    """Drop ``token`` as the same token was dropped in the same state before (a cascade)."""
    run.lossy = True
    run.last_error = run.tokens
    closer = {"LBRACE": "RBRACE", "LPAR": "RPAR"}.get(token.type)
    if closer:
        run.unmatched[closer] += 1


def _recover(
    run: _Run, state: Any, error: UnexpectedToken, ip: InteractiveParser, key: tuple | None = None
) -> None:
    """Report ``error`` (unless it is a cascade), then repair: insert the one token that lets
    the parse take the unexpected one, or abandon unfinished constructs up to a clause
    keyword or ``}`` that fits, or else drop the token (remembering ``key``, given while
    recovering, so that the same token in the same state is dropped at once next time)."""
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
    if key is not None:
        run.dead.add(key)


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
    report = run.tokens - 1 - run.last_error > _CASCADE  # not itself a cascade
    expected = _expected_here(run, state) if report else set()
    try:
        if not _resync(state, keyword):
            raise UnexpectedToken(keyword, set())
        state.feed_token(token)
    except UnexpectedToken:
        state.state_stack[:], state.value_stack[:] = current
        return False
    run.lossy = True
    if report:
        message = f"unexpected {_describe(keyword)}; expected {_expected(expected)}"
        hint = _hint(run, keyword, expected)
        if {"NUMBER", "NAME"} <= expected:
            hint = "the formula on the line before is unfinished"
        run.error(codes.UNEXPECTED_TOKEN, message, _token_span(run, keyword), hint)
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
        if not _feeds(state, (kind, token.type)):
            continue  # decided on the table: the real feed below runs once, for the winner
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
        if not _feeds(state, (token.type,), keep):
            continue
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


def _expected_here(run: _Run, state: Any) -> set[str]:
    """``_accepts(state)``, remembered by parser stack: recovery asks again and again."""
    key = tuple(state.state_stack)
    found = run.expected_at.get(key)
    if found is None:
        found = run.expected_at[key] = _accepts(state)
    return set(found)


def _accepts(state: Any) -> set[str]:
    """The terminals the parser can take next.

    lark's ``InteractiveParser.accepts`` finds them by copying the parser (lexer included)
    and feeding each candidate, milliseconds per call; this walks the parse table over a
    virtual stack instead (the real one is only read), so error recovery stays cheap however
    many errors a file has.
    """
    stack = state.state_stack
    return {t for t in state.parse_conf.states[stack[-1]] if t.isupper() and _feeds(state, (t,))}


def _feeds(state: Any, terminals: tuple[str, ...], depth: int | None = None) -> bool:
    """Whether the parser, cut to its first ``depth`` states, takes ``terminals`` one after
    another: the shifts and reductions of lark's ``ParserState.feed_token`` (``$END`` is taken
    when it reduces to the end state), run over ``stack[:depth] + pushed`` so that the parser
    itself is only read, never copied."""
    states = state.parse_conf.states
    end = state.parse_conf.end_state
    stack = state.state_stack
    depth = len(stack) if depth is None else depth
    pushed: list = []
    for terminal in terminals:
        while True:
            top = pushed[-1] if pushed else stack[depth - 1]
            entry = states[top].get(terminal)
            if entry is None:
                return False
            action, arg = entry
            if action is Shift:
                pushed.append(arg)
                break
            size = len(arg.expansion)
            if size <= len(pushed):
                del pushed[len(pushed) - size :]
            else:
                depth -= size - len(pushed)
                pushed.clear()
            top = pushed[-1] if pushed else stack[depth - 1]
            pushed.append(states[top][arg.origin.name][1])
            if terminal == "$END" and pushed[-1] == end:
                break
    return True


def _token_error(run: _Run, exc: UnexpectedToken, ip: InteractiveParser) -> set[str]:
    """Report an unexpected token unless it is a cascade; return what the parser may accept
    (for a cascade, the candidates of the parser's state: repair tries each on the table)."""
    run.lossy = True
    index = run.tokens
    cascade = index - run.last_error <= _CASCADE
    run.last_error = index
    token = exc.token
    state = ip.parser_state
    if cascade or token is None or token.type == "$END":
        return {t for t in state.parse_conf.states[state.state_stack[-1]] if t.isupper()}
    # LALR states are shared between contexts, so lark's expected set can be too wide; ask the
    # parser which tokens really advance it from here.
    expected = _expected_here(run, state) or set(exc.expected)
    prev = run.prev_token
    shown = set(expected)
    if prev is not None and prev.type == "NAME" and prev.value not in ir.FUNCTIONS:
        shown.discard("LPAR")  # a call of a name that is no function would be wrong too
    if run.last_starts and shown - _OPERATORS - {"LPAR"}:
        shown -= _OPERATORS  # a line rarely continues the formula of the line before
    message = f"unexpected {_describe(token)}; expected {_expected(shown)}"
    run.error(codes.UNEXPECTED_TOKEN, message, _token_span(run, token), _hint(run, token, shown))
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
            codes.UNTERMINATED_STRING,
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
            codes.UNTERMINATED_STRING,
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
            codes.BAD_NUMBER,
            f"bad number '{blob}'",
            run.span(exc.line, exc.column, exc.line, exc.column + len(blob) - 1),
            "numbers look like 42, 0.998, 1e-6 or 128k (suffixes k M G T); "
            "write a product explicitly, as in 2*x",
        )
        skip = len(blob)
        _feed_placeholder(run, state, "NUMBER", "0", exc)
    else:
        # a run of bad characters (with nothing but spaces between them) is reported once; past
        # the limit of reported errors, only counted
        if pos != run.last_bad_char + 1 and run.tokens != run.bad_char_tokens:
            char = text[pos]
            shown = repr(char) if not char.isprintable() or char.isspace() else f"'{char}'"
            allowed = _expected_here(run, state) if len(run.errors) < MAX_SYNTAX_ERRORS else set()
            message = f"unexpected character {shown}"
            if allowed:
                message += f"; expected {_expected(allowed)}"
            run.error(
                codes.UNEXPECTED_CHARACTER,
                message,
                span,
                "remove it, or put it inside a string or a comment",
            )
        run.last_bad_char = pos
        run.bad_char_tokens = run.tokens
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
    return token_span(run.file, token)


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
                    codes.PARSE_TOO_DEEP,
                    f"formula nested too deeply (more than {MAX_DEPTH} levels)",
                    run.span(meta.line, meta.column),
                    "split it with params, or simplify it",
                )
                return
        stack.extend((child, depth) for child in node.children if isinstance(child, Tree))
