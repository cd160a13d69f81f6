"""The parser: IR shape and positions, precedence, literals, prompts, contextual keywords, and
syntax errors with their codes, positions, readable expectations and hints."""

from __future__ import annotations

import dataclasses
import re
from fractions import Fraction
from importlib import resources
from pathlib import Path

import pytest
from aalp.diagnostics import SpecError
from aalp.front import ir
from aalp.front.literals import dedent, number_value
from aalp.front.parser import MAX_DEPTH, parse, parse_expr
from hypothesis import given, settings
from hypothesis import strategies as st
from lark import Lark, Token, Tree

SAMPLES = sorted((Path(__file__).parent.parent / "samples").glob("*.aalp"))

OP = "task t {{ op a {{ reads 1 writes 1 success 1 {} }} }}"


def errors(text: str) -> list[tuple[str, int, int]]:
    """(code, line, col) of every diagnostic ``parse`` raises for ``text``."""
    with pytest.raises(SpecError) as info:
        parse(text, "bad.aalp")
    diagnostics = info.value.diagnostics
    assert all(d.severity == "error" and d.span.file == "bad.aalp" for d in diagnostics)
    assert all(d.hint and d.message for d in diagnostics)
    return [(d.code, d.line, d.col) for d in diagnostics]


def diagnostic(text: str, index: int = 0):
    with pytest.raises(SpecError) as info:
        parse(text)
    return info.value.diagnostics[index]


# -- the grammar --------------------------------------------------------------------------------


def test_grammar_is_conflict_free_lalr() -> None:
    pytest.importorskip("interegular")
    text = resources.files("aalp.grammar").joinpath("aalp.lark").read_text(encoding="utf-8")
    Lark(text, parser="lalr", strict=True, start=["start", "formula"])  # raises on conflicts


def test_the_transformer_refuses_unknown_rules() -> None:
    """A grammar rule without a transformer method must fail loudly, never leak a Tree."""
    from aalp.front.build_ir import IRBuilder

    with pytest.raises(NotImplementedError, match="no_such_rule"):
        IRBuilder("<t>", lambda *report: None).transform(Tree("no_such_rule", []))


def _walk(node: object):
    yield node
    if dataclasses.is_dataclass(node) and not isinstance(node, type):
        for f in dataclasses.fields(node):
            yield from _walk(getattr(node, f.name))
    elif isinstance(node, tuple | list | frozenset):
        for item in node:
            yield from _walk(item)


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.stem)
def test_no_parse_tree_leaks_into_the_ir(path: Path) -> None:
    spec = parse(path.read_text(encoding="utf-8"), str(path))
    for node in _walk(spec):
        assert not isinstance(node, Tree | Token), node
        if isinstance(node, str):
            assert type(node) is str  # a lark Token is a str subclass


# -- structure and positions --------------------------------------------------------------------


def test_every_construct_becomes_ir() -> None:
    spec = parse(
        """
param disks = 20
model m {
  size 2
  context 1M tokens
  price in 0.40 out 1.60 per Mtok
  can move, count
  can solve if routed
}
task hanoi {
  steps s = 2^disks - 1
  items digits = n of 1 tokens
  op move(x of s upto 8) on m, big {
    reads 600 tokens
    writes 538*x tokens
    success p^x
    success on big 0.9995^x
    rival (1 - p)*p^(x - 1)
    red_flag writes > 750 tokens or unparsable keep 0.99
    prompt file "prompts/hanoi.txt"
    answer json
  }
  op q on m { reads 1 writes 1 success mixture(alpha: p1, 1 - alpha: p2,) }
  map count over digits overlap 0.5 success (1 - miss)^2
  chain move over s history full
  reduce merge fanin 4
  reduce merge
  combine sum
  route solve by classify
  allow vote ahead_by max 50 on move
  allow retry until exact
  require success >= target
  maximize success
  workers 8
  pin move.vote = ahead_by
  baseline single { move.x = s  move.vote = none }
}
"""
    )
    model = spec.models[0]
    assert model.capabilities == (
        ir.Capability("move"),
        ir.Capability("count"),
        ir.Capability("solve", routed=True),
    )
    task = spec.tasks[0]
    assert task.data == (
        ir.Data("s", "steps", parse_expr("2^disks - 1")),
        ir.Data("digits", "items", ir.Name("n"), ir.Num(Fraction(1))),
    )
    move = task.op("move")
    assert move.granularity == ir.Granularity("x", "s", ir.Num(Fraction(8)))
    assert move.models == ("m", "big")
    assert move.success == (ir.Outcome(ir.Num(Fraction(1)), parse_expr("p^x")),)
    assert move.success_on[0].model == "big"
    assert move.red_flag == ir.RedFlag(ir.Num(Fraction(750)), True, ir.Num(Fraction(99, 100)))
    assert move.prompt == ir.Prompt(file="prompts/hanoi.txt")
    assert move.answer == "json"
    assert [o.weight for o in task.op("q").success] == [ir.Name("alpha"), parse_expr("1 - alpha")]
    assert task.stages == (
        ir.MapStage(("count",), "digits", ir.Num(Fraction(1, 2)), parse_expr("(1 - miss)^2")),
        ir.ChainStage(("move",), "s", "full"),
        ir.ReduceStage("merge", ir.Num(Fraction(4))),
        ir.ReduceStage("merge", None),
        ir.CombineStage("sum"),
        ir.RouteStage("solve", "classify"),
    )
    assert task.boosters == (
        ir.VoteBooster("ahead_by", ir.Num(Fraction(50)), ("move",)),
        ir.RetryBooster("exact"),
    )
    assert task.requirements == (ir.Requirement("success", ">=", ir.Name("target")),)
    assert task.objective == ir.Objective("maximize", "success")
    assert task.workers == ir.Num(Fraction(8))
    assert task.pins == (ir.Pin("move", "vote", ir.Name("ahead_by")),)
    assert task.baselines[0].pins == (
        ir.Pin("move", "x", ir.Name("s")),
        ir.Pin("move", "vote", ir.Name("none")),
    )


def test_spans_are_one_based_and_inclusive() -> None:
    spec = parse("param n = 2^10\n\nmodel big {\n  size  3\n  context 8k\n}\n", "f.aalp")
    param = spec.params[0]
    assert param.span == ir.Span("f.aalp", 1, 1, 1, 14)
    assert param.value.span == ir.Span("f.aalp", 1, 11, 1, 14)
    assert param.value.right.span == ir.Span("f.aalp", 1, 13, 1, 14)
    model = spec.models[0]
    assert (model.span.line, model.span.col, model.span.end_line, model.span.end_col) == (
        3,
        1,
        6,
        1,
    )
    assert (model.size.span.line, model.size.span.col) == (4, 9)


def test_spans_do_not_take_part_in_equality() -> None:
    assert parse("param n = 1 + 2") == parse("\n\n   param   n=1+\n2  # comment")


def test_name_spans_point_at_the_word() -> None:
    spec = parse("model m { size 1 context 1 can alpha, beta if routed }")
    beta = spec.models[0].capabilities[1]
    assert (beta.span.col, beta.span.end_col) == (39, 42)


# -- formulas ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "tree"),
    [
        ("1 + 2 * 3", ir.BinOp("+", ir.Num(1), ir.BinOp("*", ir.Num(2), ir.Num(3)))),
        ("1 - 2 - 3", ir.BinOp("-", ir.BinOp("-", ir.Num(1), ir.Num(2)), ir.Num(3))),
        ("8 / 4 / 2", ir.BinOp("/", ir.BinOp("/", ir.Num(8), ir.Num(4)), ir.Num(2))),
        ("2 ^ 3 ^ 2", ir.BinOp("^", ir.Num(2), ir.BinOp("^", ir.Num(3), ir.Num(2)))),
        ("-2 ^ 2", ir.Neg(ir.BinOp("^", ir.Num(2), ir.Num(2)))),
        ("2 ^ -1", ir.BinOp("^", ir.Num(2), ir.Neg(ir.Num(1)))),
        ("-a * b", ir.BinOp("*", ir.Neg(ir.Name("a")), ir.Name("b"))),
        ("(1 + 2) * 3", ir.BinOp("*", ir.BinOp("+", ir.Num(1), ir.Num(2)), ir.Num(3))),
        ("log(x, 2)", ir.Call("log", (ir.Name("x"), ir.Num(2)))),
        ("max(a, b, c)", ir.Call("max", (ir.Name("a"), ir.Name("b"), ir.Name("c")))),
    ],
)
def test_precedence_and_associativity(text: str, tree: ir.Expr) -> None:
    tree = _fractions(tree)
    assert parse_expr(text) == tree


def _fractions(e: ir.Expr) -> ir.Expr:
    match e:
        case ir.Num(value=v):
            return ir.Num(Fraction(v))
        case ir.BinOp(op=op, left=a, right=b):
            return ir.BinOp(op, _fractions(a), _fractions(b))
        case ir.Neg(operand=a):
            return ir.Neg(_fractions(a))
        case ir.Call(func=f, args=args):
            return ir.Call(f, tuple(_fractions(a) for a in args))
    return e


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("42", Fraction(42)),
        ("0.998", Fraction(499, 500)),
        (".5", Fraction(1, 2)),
        ("1e-6", Fraction(1, 10**6)),
        ("2.5E+3", Fraction(2500)),
        ("128k", Fraction(128000)),
        ("1M", Fraction(10**6)),
        ("1.5G", Fraction(15 * 10**8)),
        ("2T", Fraction(2 * 10**12)),
        ("3e2k", Fraction(300000)),
    ],
)
def test_number_literals_are_exact_and_keep_their_text(text: str, value: Fraction) -> None:
    num = parse_expr(text)
    assert num == ir.Num(value)
    assert num.text == text
    assert number_value(text) == value


def test_keywords_are_contextual() -> None:
    spec = parse(
        """
param size = 3
param tokens = 2
param max = 5
param p = 0.9
model context { size size  context tokens*1k  can answer, map }
task op {
  items of = max of tokens tokens
  op answer(x of of) on context { reads size tokens writes tokens success p }
  op map on context { reads 1 writes 1 success p }
  map answer, map over of
  baseline success { answer.x = max  answer.model = context }
}
"""
    )
    assert [p.name for p in spec.params] == ["size", "tokens", "max", "p"]
    assert spec.models[0].name == "context"
    assert spec.models[0].size == ir.Name("size")
    assert spec.tasks[0].data[0] == ir.Data("of", "items", ir.Name("max"), ir.Name("tokens"))
    assert spec.tasks[0].stages[0].ops == ("answer", "map")
    assert spec.tasks[0].baselines[0].name == "success"


# -- strings and prompts ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("literal", "text"),
    [
        (r'"plain"', "plain"),
        (r'"say \"hi\""', 'say "hi"'),
        (r'"a\\b"', "a\\b"),
        (r'"tab\tnew\nline"', "tab\tnew\nline"),
        (r'"\u{e9}\u{1F600}"', "é😀"),
        ('"naïve ✓ 日本"', "naïve ✓ 日本"),
        ('""', ""),
        ('"""raw \\n "quotes" \\ kept"""', 'raw \\n "quotes" \\ kept'),
    ],
)
def test_prompt_strings(literal: str, text: str) -> None:
    spec = parse(OP.format(f"prompt {literal}"))
    assert spec.tasks[0].ops[0].prompt.text == text


def test_triple_quoted_prompt_is_dedented() -> None:
    source = (
        "task t {\n  op a {\n    reads 1 writes 1 success 1\n"
        '    prompt """\n      First line.\n        indented\n\n      {"a": 1}\n      """\n'
        "  }\n}\n"
    )
    prompt = parse(source).tasks[0].ops[0].prompt
    assert prompt.text == 'First line.\n  indented\n\n{"a": 1}'


@pytest.mark.parametrize(
    ("raw", "text"),
    [
        ("one line", "one line"),
        ("first\n   second\n   third", "first\nsecond\nthird"),
        ("\n  a\n    b\n  ", "a\n  b"),
        ("\n\ta\n\t\tb\n", "a\n\tb"),
        ("\n  a\n\n  b\n", "a\n\nb"),
        ("\n  a\n \t\n  b", "a\n\nb"),
    ],
)
def test_dedent_rule(raw: str, text: str) -> None:
    assert dedent(raw) == text


def test_param_docs_come_from_comments() -> None:
    spec = parse("# how many\n# disks\nparam d = 3\nparam p = 0.9  # per step\n\nparam q = 1")
    assert [p.doc for p in spec.params] == ["how many disks", "per step", ""]


def test_comments_are_collected() -> None:
    spec = parse("# a\nparam n = 1 # b\n")
    assert [(c.text, c.span.line, c.span.col) for c in spec.layout.comments] == [
        ("# a", 1, 1),
        ("# b", 2, 13),
    ]


# -- syntax errors ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("param x = ", [("E003", 1, 10)]),
        ("param = 3", [("E001", 1, 7)]),
        ("param x = 2x", [("E005", 1, 11)]),
        ("param x = 1.2.3\nparam y = 12abc", [("E005", 1, 11), ("E005", 2, 11)]),
        ("param a = 3 @ 4\nparam b = $ 5", [("E002", 1, 13), ("E002", 2, 11)]),
        ('task t { op a { prompt "abc\n reads 1 } }', [("E009", 1, 10), ("E004", 1, 24)]),
        ('task t { op a { prompt """abc\n reads 1 } }', [("E004", 1, 24)]),
        ("model m { size 1 \ntask t { }", [("E001", 2, 1)]),
        ("model m { size 1 context 2 ", [("E003", 1, 27)]),
        ("param x = foo(3)\nparam y = log(1, 2, 3)", [("E006", 1, 11), ("E007", 2, 11)]),
        ("param x = 1e99999", [("E005", 1, 11)]),
        ("param x = " + "-" * 500 + "1", [("E008", 1, 11 + MAX_DEPTH)]),
        ("model m { size 1 size 2 context 3 }", [("E010", 1, 18)]),
        ("model m { context 3 }", [("E009", 1, 1)]),
        ("task t { op a { reads 1 } }", [("E009", 1, 10)]),
        (OP.format(r'prompt "a\qb"'), [("E011", 1, 53)]),
        ("task t { require sucess >= 0.9 }", [("E013", 1, 18)]),
        ("task t { pin a.vots = 3 }", [("E012", 1, 16)]),
        ("param x = 1\nparam y = 2 3\nparam z = * 4\n", [("E001", 2, 13), ("E001", 3, 11)]),
        ("\x00", [("E002", 1, 1)]),
        (
            "param = 1\nmodel m { size 1 context 1 }\nparam y = 2 3",
            [("E001", 1, 7), ("E001", 3, 13)],
        ),
        ("param a = (\nparam b = 1", [("E001", 2, 1)]),
    ],
)
def test_syntax_errors(text: str, expected: list[tuple[str, int, int]]) -> None:
    assert errors(text) == expected


def test_checks_still_run_after_repairs_that_lose_nothing() -> None:
    """A bad literal is replaced and a stray character skipped: the rest is still checked;
    after a dropped token the tree is partial, and only the syntax error is reported."""
    assert errors("param x = 2x\nmodel m { size 1 }") == [("E005", 1, 11), ("E009", 2, 1)]
    assert errors("param x = 1 $\nmodel m { size 1 }") == [("E002", 1, 13), ("E009", 2, 1)]
    assert errors("param x = 1 1\nmodel m { size 1 }") == [("E001", 1, 13)]


def test_expected_tokens_are_readable() -> None:
    d = diagnostic("param x = )")
    assert d.message == "unexpected ')'; expected a number, a name, '(' or '-'"
    assert "__ANON" not in d.message


def test_expected_tokens_are_exact_for_the_state() -> None:
    d = diagnostic("param x = 1\nparam y = 2 3")
    assert d.message == (
        "unexpected number 3; expected 'attention', 'model', 'param', 'task', 'tool', "
        "the end of input or an operator (+ - * / ^)"
    )
    assert d.hint == "two formulas in a row: is an operator missing?"


def test_misspelled_keyword_gets_a_suggestion() -> None:
    d = diagnostic("task t { op a { reads 1 tokns writes 2 tokens success 1 } }")
    assert (d.code, d.line, d.col, d.span.end_col) == ("E001", 1, 25, 29)
    assert d.hint == "did you mean 'tokens'?"


def test_missing_brace_hint() -> None:
    assert diagnostic("model m { size 1 context 1\ntask t { }").hint == (
        "a '}' may be missing before this line"
    )
    assert diagnostic("model m { size 1 context 1").hint == "a '}' is missing at the end"


def test_juxtaposed_number_and_name_is_a_bad_number_with_a_hint() -> None:
    d = diagnostic("param y = 3\nparam x = 2y")
    assert (d.code, d.line, d.col) == ("E005", 2, 11)
    assert "2*x" in d.hint


def test_errors_after_a_cascade_are_still_reported() -> None:
    text = "param a = (\nparam b = 1\nmodel m { size 1 context 2 price in 1 }\nparam c = 2 +\n"
    assert errors(text) == [("E001", 2, 1), ("E001", 3, 39), ("E003", 4, 14)]


def test_recovery_resumes_at_the_next_clause() -> None:
    text = (
        "task t {\n op a { reads ( }\n op b { reads 1 writes 2 success 1 answer jsn }\n"
        " allow vote ahead_by on\n}\n"
    )
    assert errors(text) == [("E001", 2, 17), ("E001", 3, 43), ("E001", 5, 1)]
    assert diagnostic(text, 1).hint == "did you mean 'json'?"
    assert diagnostic(text, 2).message == "unexpected '}'; expected a name"


def test_closers_of_dropped_openers_are_dropped_too() -> None:
    """After ``op a(x s)`` loses its ``{``, its ``}`` must not close the task."""
    text = (
        "task t {\n op a(x s) on m {\n reads 1 writes 1 success 1\n }\n"
        " op b on m { reads 1 writs 1 }\n}\nparam z = 1 1"
    )
    assert errors(text) == [("E001", 2, 9), ("E001", 5, 22), ("E001", 7, 13)]
    assert errors("param a = max(1, (2 3)) + 4\nparam b = 5 5") == [
        ("E001", 1, 21),
        ("E001", 2, 13),
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # a keyword taken for a name because the formula before it is unfinished
        (
            "task t {\n  steps s = 2^d -\n  op a on m { reads 1 writes 1 success 1 }\n}",
            [("E001", 3, 3)],
        ),
        # a missing '{' is put back, so the block's '}' still closes it
        (
            "task t {\n  op a on m\n    reads 1 writes 1 success 1\n  }\n  map a over d\n}",
            [("E001", 3, 5)],
        ),
        # a missing name or '=' is put back
        ("task t { baseline { a.x = 1 } }\nparam p = 1 1", [("E001", 1, 19), ("E001", 2, 13)]),
        (
            "task t { baseline b { a.x 1  a.vote = none } }\nparam p = 1 1",
            [("E001", 1, 27), ("E001", 2, 13)],
        ),
        # a lost keyword: its block is skipped whole, 'model' inside it is not a declaration
        (
            "task t {\n  single { a.model = m }\n  map a over d\n}\nparam p = 1 1",
            [("E001", 2, 3), ("E001", 5, 13)],
        ),
    ],
)
def test_repairs(text: str, expected: list[tuple[str, int, int]]) -> None:
    assert errors(text) == expected


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.stem)
def test_deleting_any_token_gives_few_errors(path: Path) -> None:
    """Remove each token of a sample in turn: the parser reports the mistake, rarely more."""
    text = path.read_text(encoding="utf-8")
    token = re.compile(r'"""[\s\S]*?"""|"(?:[^"\\\n]|\\.)*"|#[^\n]*|\w+(?:\.\w+)?|[^\s\w]')
    counts = []
    for m in token.finditer(text):
        if m.group().startswith("#"):
            continue
        try:
            parse(text[: m.start()] + text[m.end() :])
        except SpecError as err:
            counts.append(len(err.diagnostics))
    assert counts and max(counts) <= 3
    assert counts.count(1) >= 0.9 * len(counts)


def test_a_cascade_is_reported_once() -> None:
    assert len(errors("task t { op a { reads 1 tokns writes 2 tokens success 1 } }")) == 1


def test_parse_expr_errors() -> None:
    with pytest.raises(SpecError) as info:
        parse_expr("2 +")
    assert [(d.code, d.line, d.col) for d in info.value.diagnostics] == [("E003", 1, 4)]
    with pytest.raises(SpecError):
        parse_expr("param x = 1")


def test_deep_parentheses_are_fine_and_deep_operators_are_reported() -> None:
    assert parse_expr("(" * 3000 + "1" + ")" * 3000) == ir.Num(Fraction(1))
    text = "+".join(["1"] * 5000)
    assert errors("param x = " + text)[0][0] == "E008"
    assert errors("param x = " + "f(" * 2000 + "1" + ")" * 2000)[0][0] == "E008"


def test_huge_literals_are_diagnosed_not_computed() -> None:
    assert errors("param x = " + "9" * 5000)[0][0] == "E005"
    assert errors("param x = 1e-99999999999")[0][0] == "E005"


@settings(max_examples=150, deadline=None, derandomize=True, database=None)
@given(st.text(max_size=60))
def test_arbitrary_text_gives_only_positioned_spec_errors(text: str) -> None:
    try:
        parse(text)
    except SpecError as err:
        lines = text.split("\n")
        for d in err.diagnostics:
            assert 1 <= d.line <= len(lines)
            assert 1 <= d.col <= len(lines[d.line - 1]) + 1
            assert d.code.startswith("E0")
            assert d.message


def test_language_reference_examples_parse() -> None:
    """The complete spec that opens docs/language.md, and every block of clauses in it."""
    doc = (Path(__file__).parent.parent / "docs" / "language.md").read_text(encoding="utf-8")
    blocks: list[str] = []
    current: list[str] | None = None
    for line in doc.split("\n"):
        if current is None and line.startswith("```"):
            current = [] if line == "```" else None
            if current is None:
                blocks.append("")  # a ```text block: not spec syntax
                current = ["<skip>"]
        elif current is not None and line == "```":
            if current[:1] != ["<skip>"]:
                blocks.append("\n".join(current))
            current = None
        elif current is not None:
            current.append(line)
    blocks = [b for b in blocks if b]
    assert parse(blocks[0]).tasks[0].name == "hanoi"
    wrapped = 0
    for block in blocks[1:]:
        first = block.lstrip().split(None, 1)[0]
        if first in {"param", "model", "task"}:
            parse(block)
        elif first in {"steps", "map", "allow", "require", "pin", "op"}:
            parse("task t {\n" + block + "\n}")
            wrapped += 1
    assert wrapped >= 5


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.stem)
def test_windows_line_ends_parse_the_same(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    spec = parse(text.replace("\n", "\r\n"))
    assert spec == parse(text)
    assert [c.text for c in spec.layout.comments] == [c.text for c in parse(text).layout.comments]


def test_docstring_examples() -> None:
    import doctest

    from aalp.front import build_ir, literals, parser, printer, serialize

    for module in (literals, parser, build_ir, printer, serialize):
        assert doctest.testmod(module).failed == 0, module.__name__


# -- hostile input: linear time, bounded reports ------------------------------------------------


def hostile(text: str) -> list[tuple[str, str, int, int]]:
    """(severity, code, line, col) of every diagnostic for ``text``, which must fail to parse
    within a generous bound (a sanity guard: the real guarantee is that repair is linear)."""
    import time

    start = time.perf_counter()
    with pytest.raises(SpecError) as info:
        parse(text, "bad.aalp")
    assert time.perf_counter() - start < 5, "parsing took far too long"
    assert all(d.hint and d.message for d in info.value.diagnostics)
    return [(d.severity, d.code, d.line, d.col) for d in info.value.diagnostics]


@pytest.mark.parametrize(
    "stray", [")" * 20000, ") " * 20000, ")\n" * 20000, "} ," * 7000, "= " * 20000]
)
def test_a_run_of_stray_tokens_is_reported_once(stray: str) -> None:
    # 20,000 stray ')' once took 13.7 s: every one was repaired from scratch
    assert hostile("param a = 1\n" + stray) == [("error", "E001", 2, 1)]


def test_stray_tokens_inside_a_block_are_reported_once() -> None:
    assert len(hostile("task t {\n" + ")" * 20000 + "\n")) <= 2  # the run, then the missing }


def test_a_run_of_bad_characters_is_reported_once() -> None:
    assert hostile("param a = 1\n" + "@ " * 20000) == [("error", "E002", 2, 1)]


def test_syntax_errors_are_bounded_with_a_count_of_the_rest() -> None:
    from aalp import codes
    from aalp.front.parser import MAX_SYNTAX_ERRORS

    got = hostile("param a = 1\n" + "2x\n" * 5000)  # 5000 bad numbers, each a real error
    assert len(got) == MAX_SYNTAX_ERRORS + 1
    assert all(g[:2] == ("error", "E005") for g in got[:-1])
    note = diagnostic("param a = 1\n" + "2x\n" * 5000, -1)
    assert (note.severity, note.code, note.line) == ("note", codes.TOO_MANY_ERRORS, 52)
    assert note.message.startswith(f"{5000 - MAX_SYNTAX_ERRORS} more syntax errors not shown")


@pytest.mark.parametrize("opener", ["(", "-", "2^", "log(", "min(1, "])
def test_nesting_beyond_the_parser_limit_is_one_error(opener: str) -> None:
    got = hostile("param a = " + opener * 50000 + "1")
    assert len(got) == 1 and got[0][1] == "E008"


def test_repeated_errors_deep_in_a_formula_stay_fast() -> None:
    # every repetition opens a parenthesis and makes a fresh error: no two states alike
    assert [g[1] for g in hostile("param a = (" * 2000 + "1")][:1] == ["E001"]
    assert hostile("task t { op " + "a " * 5000 + "}")[0][1] == "E001"


def test_the_table_walk_agrees_with_lark_on_what_comes_next() -> None:
    """``_accepts`` replaces lark's ``InteractiveParser.accepts`` (which copies the parser per
    terminal); they must agree on every state the samples and their mutations reach."""
    import random

    from aalp.front import parser as p

    seen: list[list] = []
    original = p._advance

    def spy(run, state, token):
        seen.append(list(state.state_stack))
        original(run, state, token)

    rng = random.Random(5)
    texts = [path.read_text(encoding="utf-8") for path in SAMPLES]
    for _ in range(40):
        text = rng.choice(texts)
        words = list(re.finditer(r"\w+|[^\s\w]", text))
        for _ in range(3):
            m = rng.choice(words)
            text = text[: m.start()] + rng.choice(["", ")", "(", "{", "}", "="]) + text[m.end() :]
            words = list(re.finditer(r"\w+|[^\s\w]", text))
        p._advance = spy
        try:
            parse(text)
        except SpecError:
            pass
        finally:
            p._advance = original
    assert len(seen) > 1000
    for stack in rng.sample(seen, 1000):
        ip = p._lark().parse_interactive("", start="start")
        ip.parser_state.state_stack[:] = stack
        assert p._accepts(ip.parser_state) == set(ip.accepts())


def test_docstring_examples_of_the_front_end() -> None:
    import doctest

    from aalp.checks import loader
    from aalp.checks import values as check_values
    from aalp.front import expr

    for module in (loader, check_values, expr):
        assert doctest.testmod(module).failed == 0, module.__name__
