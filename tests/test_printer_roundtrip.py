"""The formatter: print -> parse gives back the same IR, and formatting is idempotent.

Checked on every sample and on random specs drawn as IR (``strategies.specs``), so the
printer's parenthesization, number literals, string escaping and layout are all exercised
against the parser, an independent implementation of the same language.
"""

from __future__ import annotations

import json
import math
import random
from collections import Counter
from fractions import Fraction
from pathlib import Path

import pytest
from aalp.front import ir
from aalp.front.expr import EvalError, evaluate
from aalp.front.parser import parse, parse_expr
from aalp.front.printer import format_expr, format_spec, quote
from aalp.front.serialize import spec_to_json
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import exprs, specs

SAMPLES = sorted((Path(__file__).parent.parent / "samples").glob("*.aalp"))
PROPERTY = settings(
    max_examples=100,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.stem)
def test_sample_round_trip(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    spec = parse(text, str(path))
    printed = format_spec(spec)
    assert parse(printed) == spec
    assert format_spec(parse(printed)) == printed


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.stem)
def test_samples_are_canonical(path: Path) -> None:
    """Samples are kept formatted: ``aalp fmt --check samples/*.aalp`` passes."""
    text = path.read_text(encoding="utf-8")
    assert format_spec(parse(text)) == text


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.stem)
def test_comments_survive_formatting(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    messy = "\n".join("   " + line.replace("  ", "    ") for line in text.split("\n"))
    spec = parse(messy)
    assert spec == parse(text)
    printed = format_spec(spec)
    comments = [c.text for c in parse(text).layout.comments]
    assert [c.text for c in parse(printed).layout.comments] == comments


def _sprinkle(text: str, seed: int) -> str:
    """``text`` with comments added at the end of some lines and on lines of their own."""
    rng = random.Random(seed)
    out: list[str] = []
    in_string = False
    for n, line in enumerate(text.split("\n")):
        quotes = line.count('"""') % 2 == 1
        if not in_string and not quotes and line.strip() and rng.random() < 0.3:
            line += f"  # beside {n}"
        out.append(line)
        in_string ^= quotes
        if not in_string and rng.random() < 0.1:
            out.append(f"# after {n}")
    return "\n".join(out)


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.stem)
@pytest.mark.parametrize("seed", range(8))
def test_sprinkled_comments_are_all_kept(path: Path, seed: int) -> None:
    text = _sprinkle(path.read_text(encoding="utf-8"), seed)
    spec = parse(text)
    printed = format_spec(spec)
    again = parse(printed)
    assert again == spec
    assert format_spec(again) == printed
    assert Counter(c.text for c in again.layout.comments) == Counter(
        c.text for c in spec.layout.comments
    )


@PROPERTY
@given(specs())
def test_random_specs_round_trip(spec: ir.Spec) -> None:
    printed = format_spec(spec)
    reparsed = parse(printed)
    assert reparsed == spec
    assert format_spec(reparsed) == printed


@PROPERTY
@given(exprs())
def test_random_formulas_round_trip(expr: ir.Expr) -> None:
    text = format_expr(expr)
    assert parse_expr(text) == expr
    assert format_expr(parse_expr(text)) == text


@PROPERTY
@given(exprs(), st.dictionaries(st.sampled_from("abcxyz"), st.floats(0.1, 3), min_size=6))
def test_printed_formula_means_the_same(expr: ir.Expr, env: dict[str, float]) -> None:
    """Independent of the tree comparison: the printed text evaluates to the same number."""
    names = {n.id for n in _names(expr)}
    values = {n: env.get(n[:1], 1.5) for n in names}
    try:
        expected = evaluate(expr, values)
    except (EvalError, OverflowError, ValueError):
        return
    got = evaluate(parse_expr(format_expr(expr)), values)
    assert got == expected or (math.isnan(got) and math.isnan(expected))


def _names(expr: ir.Expr):
    from aalp.front.expr import names

    return names(expr)


@pytest.mark.parametrize(
    ("source", "canonical"),
    [
        ("1 + 2 + 3", "1 + 2 + 3"),
        ("1 + (2 + 3)", "1 + (2 + 3)"),
        ("1 - (2 - 3)", "1 - (2 - 3)"),
        ("(1 - 2) - 3", "1 - 2 - 3"),
        ("a * (b / c)", "a*(b/c)"),
        ("(a * b) / c", "a*b/c"),
        ("2 ^ 3 ^ 4", "2^3^4"),
        ("(2 ^ 3) ^ 4", "(2^3)^4"),
        ("-x ^ 2", "-x^2"),
        ("(-x) ^ 2", "(-x)^2"),
        ("x ^ -2", "x^-2"),
        ("x ^ (-2 + y)", "x^(-2 + y)"),
        ("- (a + b)", "-(a + b)"),
        ("-(-a)", "--a"),
        ("a * -b", "a*-b"),
        ("(a*b)^c", "(a*b)^c"),
        ("log(x, 2) + max(a, b, c)", "log(x, 2) + max(a, b, c)"),
        ("((1 - p)) * (p ^ (x - 1))", "(1 - p)*p^(x - 1)"),
        ("128k", "128k"),
        ("1.50", "1.50"),
        ("1e-6", "1e-6"),
    ],
)
def test_minimal_parentheses(source: str, canonical: str) -> None:
    assert format_expr(parse_expr(source)) == canonical


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (Fraction(3, 2), "1.5"),
        (Fraction(1, 1000), "0.001"),
        (Fraction(10) ** 30, "1e30"),
        (Fraction(0), "0"),
        (Fraction(123456), "123456"),
        (Fraction(1, 10**12), "1e-12"),
    ],
)
def test_numbers_without_literal_print_as_exact_decimals(value: Fraction, text: str) -> None:
    assert format_expr(ir.Num(value)) == text
    assert parse_expr(text) == ir.Num(value)


def test_price_per_ktok_is_normalized_to_per_mtok() -> None:
    spec = parse("model m { size 1 context 1k price in 0.0004 out 0.0016 per ktok }")
    assert spec.models[0].price_in == ir.Num(Fraction(4, 10))
    assert "price in 0.4 out 1.6 per Mtok" in format_spec(spec)


@pytest.mark.parametrize(
    "text",
    ['say "hi"', "back\\slash", "tab\there", "line\nbreak", "\x00\x07\u2028", "naïve – ünïcödé ✓"],
)
def test_quote_round_trips(text: str) -> None:
    spec_text = f"task t {{ op a {{ reads 1 writes 1 success 1 prompt {quote(text)} }} }}"
    assert parse(spec_text).tasks[0].ops[0].prompt.text == text


def test_multiline_prompt_prints_triple_quoted() -> None:
    text = 'Move one disk.\n  Answer {"pegs": [...]}\n\nDone.'
    spec = parse(f"task t {{ op a {{ reads 1 writes 1 success 1 prompt {quote(text)} }} }}")
    printed = format_spec(spec)
    assert '"""' in printed
    assert parse(printed).tasks[0].ops[0].prompt.text == text


def test_comments_and_blank_lines_are_kept() -> None:
    text = (
        "# header\n\n"
        "param a = 1  # beside a\n"
        "# above b\n"
        "param bb = 2  # beside b\n\n"
        "task t {\n"
        "  # about the op\n"
        "  op o on m { reads 1 writes 1 success 1 }\n"
        "  # trailing\n"
        "}\n"
        "# end\n"
    )
    printed = format_spec(parse(text))
    assert printed == (
        "# header\n\n"
        "param a = 1  # beside a\n"
        "# above b\n"
        "param bb = 2  # beside b\n\n"
        "task t {\n"
        "  # about the op\n"
        "  op o on m {\n"
        "    reads 1 tokens\n"
        "    writes 1 tokens\n"
        "    success 1\n"
        "  }\n"
        "  # trailing\n"
        "}\n"
        "# end\n"
    )
    assert format_spec(parse(printed)) == printed


def _from_tree(tree: dict) -> ir.Expr:
    """Rebuild a formula from its JSON tree (an independent reading of the JSON)."""
    match tree["node"]:
        case "Num":
            return ir.Num(Fraction(tree["value"]))
        case "Name":
            return ir.Name(tree["id"])
        case "BinOp":
            return ir.BinOp(tree["op"], _from_tree(tree["left"]), _from_tree(tree["right"]))
        case "Neg":
            return ir.Neg(_from_tree(tree["operand"]))
        case "Call":
            return ir.Call(tree["func"], tuple(_from_tree(a) for a in tree["args"]))
    raise AssertionError(tree)


def _formulas(node: object):
    if isinstance(node, dict):
        if set(node) == {"text", "tree"}:
            yield node
            return
        for value in node.values():
            yield from _formulas(value)
    elif isinstance(node, list):
        for value in node:
            yield from _formulas(value)


@settings(PROPERTY, max_examples=40)
@given(specs())
def test_json_is_plain_and_its_formulas_agree(spec: ir.Spec) -> None:
    data = spec_to_json(spec)
    text = json.dumps(data)
    assert json.loads(text) == data
    for formula in _formulas(data):
        expr = _from_tree(formula["tree"])
        assert parse_expr(formula["text"]) == expr


def test_long_clauses_are_wrapped_at_operators() -> None:
    terms = " + ".join(f"long_name_{i}*other_{i}" for i in range(12))
    text = f"param a = {terms}  # c\nparam b = 1  # d\nparam cc = 2  # e\n"
    printed = format_spec(parse(text))
    assert printed == (
        "param a = long_name_0*other_0 + long_name_1*other_1 + long_name_2*other_2"
        " + long_name_3*other_3\n"
        "    + long_name_4*other_4 + long_name_5*other_5 + long_name_6*other_6"
        " + long_name_7*other_7\n"
        "    + long_name_8*other_8 + long_name_9*other_9 + long_name_10*other_10"
        " + long_name_11*other_11  # c\n"
        "param b = 1   # d\n"
        "param cc = 2  # e\n"
    )
    assert all(len(line) <= 100 for line in printed.split("\n")[:2])
    assert parse(printed) == parse(text)
    assert format_spec(parse(printed)) == printed
