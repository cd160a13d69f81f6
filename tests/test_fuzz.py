"""Fuzzing the parser and checker: whatever the text, the only failure is a ``SpecError`` whose
diagnostics all point inside the text.

Inputs are mutations of every sample (truncation, deleted and duplicated tokens, random
characters, huge numbers, deep nesting) and specs generated from the grammar's shapes (with
names that may or may not resolve). Bounded to run in about a minute.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from aalp.checks.loader import load_text
from aalp.diagnostics import Diagnostic, SpecError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

SAMPLES = sorted((Path(__file__).parent.parent / "samples").glob("*.aalp"))
TEXTS = [p.read_text(encoding="utf-8") for p in SAMPLES] or ["param n = 1\n"]
TOKEN = re.compile(r'"""[\s\S]*?"""|"(?:[^"\\\n]|\\.)*"|#[^\n]*|\w+(?:\.\w+)?|[^\s\w]')

FUZZ = settings(
    max_examples=120,
    deadline=None,
    derandomize=True,  # the same examples every run: failures reproduce, timing is stable
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    database=None,
)


def assert_only_positioned_diagnostics(text: str) -> None:
    """Parse and check ``text``: a ``SpecError`` is fine, anything else is a bug; every
    diagnostic must lie within the text (line 1..last, column 1..end of that line + 1)."""
    try:
        checked = load_text(text, "<fuzz>")
    except SpecError as err:
        diagnostics: list[Diagnostic] = list(err.diagnostics)
        assert any(d.severity == "error" for d in diagnostics)
    else:
        diagnostics = list(checked.diagnostics)
    lines = text.split("\n")
    for d in diagnostics:
        assert d.span.file == "<fuzz>", d
        assert 1 <= d.line <= len(lines), (d, len(lines))
        assert 1 <= d.col <= len(lines[d.line - 1]) + 1, (d, lines[d.line - 1])
        assert d.message


def tokens(text: str) -> list[re.Match[str]]:
    return list(TOKEN.finditer(text))


sample = st.sampled_from(TEXTS)


@FUZZ
@given(sample, st.floats(0, 1))
def test_truncation(text: str, where: float) -> None:
    assert_only_positioned_diagnostics(text[: int(len(text) * where)])


@FUZZ
@given(sample, st.data())
def test_deleted_and_duplicated_tokens(text: str, data: st.DataObject) -> None:
    found = tokens(text)
    picks = data.draw(st.lists(st.integers(0, len(found) - 1), min_size=1, max_size=4))
    duplicate = data.draw(st.booleans())
    for i in sorted(set(picks), reverse=True):
        m = found[i]
        middle = m.group() * 2 if duplicate else ""
        text = text[: m.start()] + middle + text[m.end() :]
    assert_only_positioned_diagnostics(text)


@FUZZ
@given(sample, st.data())
def test_random_characters(text: str, data: st.DataObject) -> None:
    junk = data.draw(
        st.text(
            st.characters(codec="utf-8", exclude_categories=["Cs"]) | st.sampled_from('{}()"#\t\n'),
            min_size=1,
            max_size=12,
        )
    )
    where = data.draw(st.integers(0, len(text)))
    assert_only_positioned_diagnostics(text[:where] + junk + text[where:])


@FUZZ
@given(sample, st.data())
def test_random_bytes_decoded_leniently(text: str, data: st.DataObject) -> None:
    raw = data.draw(st.binary(min_size=1, max_size=16))
    where = data.draw(st.integers(0, len(text)))
    assert_only_positioned_diagnostics(
        text[:where] + raw.decode("utf-8", errors="replace") + text[where:]
    )


HUGE = ["1e999999", "9" * 500, "1e-999999", "0.000000000000000000001", "1e308", "2^2^2^2^2^2"]


@FUZZ
@given(sample, st.data())
def test_huge_and_tiny_numbers(text: str, data: st.DataObject) -> None:
    numbers = [m for m in re.finditer(r"(?<![\w.])\d+(?:\.\d+)?[kMGT]?(?![\w.])", text)]
    if not numbers:
        return
    m = data.draw(st.sampled_from(numbers))
    value = data.draw(st.sampled_from(HUGE))
    assert_only_positioned_diagnostics(text[: m.start()] + value + text[m.end() :])


@pytest.mark.parametrize("depth", [50, 300, 5000])
@pytest.mark.parametrize("shape", ["(", "-", "(1 + ", "log("])
def test_deep_nesting(depth: int, shape: str) -> None:
    closing = ")" * (depth * shape.count("("))
    formula = shape * depth + "2" + closing
    text = TEXTS[0]
    m = re.search(r"(?m)^param (\w+) = [^\n#]+", text)
    mutated = (
        text[: m.start()] + f"param {m.group(1)} = {formula}" + text[m.end() :]
        if m
        else f"param n = {formula}\n"
    )
    assert_only_positioned_diagnostics(mutated)


# -- specs built from the grammar's shapes ----------------------------------------------------

NAMES = st.sampled_from(["n", "k", "p", "x", "s", "m", "big", "solve", "merge", "zz", "calls"])
NUMBER = st.sampled_from(["0", "1", "2", "0.5", "0.999", "1.5", "128k", "1M", "1e-9", "100", "-3"])


def formula(depth: int = 3) -> st.SearchStrategy[str]:
    leaf = NUMBER | NAMES
    if depth == 0:
        return leaf
    sub = formula(depth - 1)
    return st.one_of(
        leaf,
        st.tuples(sub, st.sampled_from("+-*/^"), sub).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        st.tuples(st.sampled_from(["log", "ceil", "min", "max", "sqrt", "lg"]), sub).map(
            lambda t: f"{t[0]}({t[1]})"
        ),
    )


@st.composite
def specs(draw: st.DrawFn) -> str:
    f = formula()
    out = []
    for _ in range(draw(st.integers(0, 3))):
        out.append(f"param {draw(NAMES)} = {draw(f)}")
    for _ in range(draw(st.integers(0, 2))):
        can = draw(st.lists(NAMES, min_size=0, max_size=2, unique=True))
        routed = " if routed" if draw(st.booleans()) else ""
        caps = f"  can {', '.join(can)}{routed}\n" if can else ""
        out.append(
            f"model {draw(NAMES)} {{\n  size {draw(f)}\n  context {draw(f)}\n"
            f"  price in {draw(f)} out {draw(f)} per Mtok\n{caps}}}"
        )
    body = []
    data = draw(NAMES)
    kind = draw(st.sampled_from(["items", "steps"]))
    size = f" of {draw(f)} tokens" if kind == "items" and draw(st.booleans()) else ""
    body.append(f"  {kind} {data} = {draw(f)}{size}")
    ops = []
    for _ in range(draw(st.integers(0, 2))):
        op = draw(NAMES)
        ops.append(op)
        gran = f"(x of {draw(NAMES)})" if draw(st.booleans()) else ""
        body.append(
            f"  op {op}{gran} on {draw(NAMES)} {{\n    reads {draw(f)}\n    writes {draw(f)}\n"
            f"    success {draw(f)}\n  }}"
        )
    for _ in range(draw(st.integers(0, 3))):
        stage = draw(st.sampled_from(["map", "chain", "reduce", "route", "combine"]))
        op = draw(st.sampled_from(ops) | NAMES) if ops else draw(NAMES)
        if stage in ("map", "chain"):
            body.append(f"  {stage} {op} over {draw(NAMES)}")
        elif stage == "reduce":
            body.append(f"  reduce {op} fanin {draw(f)}")
        elif stage == "route":
            body.append(f"  route {op} by {draw(NAMES)}")
        else:
            body.append("  combine sum")
    if draw(st.booleans()):
        kind = draw(st.sampled_from(["ahead_by", "majority"]))
        body.append(f"  allow vote {kind} max {draw(f)}")
    if draw(st.booleans()):
        body.append(
            f"  require {draw(st.sampled_from(['success', 'dollars', 'cots']))} >= {draw(f)}"
        )
    if draw(st.booleans()):
        body.append(f"  minimize {draw(st.sampled_from(['cost', 'dollars', 'latency', 'x']))}")
    if ops and draw(st.booleans()):
        field = draw(st.sampled_from(["x", "model", "vote", "votes", "fanin", "history", "size"]))
        body.append(f"  baseline b {{ {draw(st.sampled_from(ops))}.{field} = {draw(f)} }}")
    out.append("task t {\n" + "\n".join(body) + "\n}")
    return "\n".join(out) + "\n"


@settings(FUZZ, max_examples=400)
@given(specs())
def test_generated_specs(text: str) -> None:
    assert_only_positioned_diagnostics(text)


def test_grammar_strategies_from_the_language_tests() -> None:
    """Specs drawn by the language's own strategies (tests/strategies.py), checked both as IR
    (no positions) and as printed text (every diagnostic positioned)."""
    strategies = pytest.importorskip("strategies", reason="tests/strategies.py not present")
    from aalp.checks.checker import check
    from aalp.front.printer import format_spec

    @settings(FUZZ, max_examples=50)
    @given(strategies.specs())
    def run(spec: object) -> None:
        try:
            check(spec)
        except SpecError as err:
            assert all(d.message and d.code for d in err.diagnostics)
        assert_only_positioned_diagnostics(format_spec(spec))

    run()
