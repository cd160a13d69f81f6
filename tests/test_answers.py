"""How every target reads an answer, and what its combines do with the answers (docs/backends.md,
"Answers").

The answer rules are lifted out of each target's emitted program (its ``judge``, parsers and
combines, found by name in the module's syntax tree) and run on one behaviour table: the same
raw text in the same answer format must give the same vote, or the same red flag, everywhere.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest
from aalp.backends.emit import emit
from aalp.backends.view import PlanError
from aalp.check.loader import load_text

ROOT = Path(__file__).resolve().parent.parent
TARGETS = ("python", "langgraph", "dspy", "openai-agents")
FLAG = "red flag"

#: the shared answer rules every emitted program holds
RULES = {
    "MalformedResponse",
    "CombineError",
    "_strict_json",
    "_unfenced",
    "parse_answer",
    "_number",
    "NEEDS",
    "_NEEDED",
    "_READ_AS",
    "usable",
    "read_answer",
    "judge",
    "answer_key",
    "winner",
    "known",
    "plurality",
    "COMBINES",
    "combine",
}

#: (answer format, raw text) -> the vote's canonical JSON, or FLAG
TABLE: list[tuple[str, str, str]] = [
    # number: one JSON number; an integral one is an int (12.0 and 12 are one vote)
    ("number", "12", "12"),
    ("number", " 12\n", "12"),
    ("number", "12.0", "12"),
    ("number", "1e3", "1000"),
    ("number", "-0.5", "-0.5"),
    ("number", "```\n42\n```", "42"),
    ("number", "```json\n42\n```", "42"),
    ("number", "1,234", FLAG),  # thousands separator or decimal comma: ambiguous
    ("number", "12 apples", FLAG),
    ("number", "twelve", FLAG),
    ("number", '"12"', FLAG),
    ("number", "true", FLAG),
    ("number", "NaN", FLAG),
    ("number", "Infinity", FLAG),
    ("number", "1e999", FLAG),
    ("number", "+5", FLAG),
    ("number", "0x1F", FLAG),
    ("number", ".5", FLAG),
    ("number", "", FLAG),
    ("number", "Sorry, I lost track.\n{12", FLAG),
    # json: strict JSON (no NaN), any value; object keys are sorted for the vote
    ("json", '{"a": 1, "b": [2]}', '{"a":1,"b":[2]}'),
    ("json", '{"b": [2], "a": 1}', '{"a":1,"b":[2]}'),
    ("json", '```json\n{"a": 1}\n```', '{"a":1}'),
    ("json", "```\n[1]\n```", "[1]"),
    ("json", '"yes"', '"yes"'),
    ("json", "null", "null"),
    ("json", "7", "7"),
    ("json", "{not json", FLAG),
    ("json", "{'a': 1}", FLAG),
    ("json", "[1, 2", FLAG),
    ("json", '{"a": NaN}', FLAG),
    ("json", '{"a": 1} and more', FLAG),
    ("json", "[" * 100_000, FLAG),  # nested too deep for the parser: never a crash
    # list: a JSON list
    ("list", "[3, 1, 2]", "[3,1,2]"),
    ("list", "[]", "[]"),
    ("list", "```python\n[1]\n```", "[1]"),
    ("list", '{"a": 1}', FLAG),
    ("list", "3, 1, 2", FLAG),
    # choice: one line; a JSON string is unquoted ("yes" and yes are one vote); case is kept
    ("choice", "yes", '"yes"'),
    ("choice", '"yes"', '"yes"'),
    ("choice", '  "yes" ', '"yes"'),
    ("choice", "Yes", '"Yes"'),
    ("choice", "```\nB\n```", '"B"'),
    ("choice", '"\\u0041"', '"A"'),
    ("choice", "math 9", '"math 9"'),
    ("choice", "yes\nno", FLAG),
    ("choice", '""', FLAG),
    ("choice", '"a\\nb"', FLAG),
    ("choice", '"yes" "no"', FLAG),
    ("choice", "", FLAG),
    ("choice", "Sorry, I lost track.\n{", FLAG),
    # text: always parses, to the text without surrounding whitespace
    ("text", "  Hello world  ", '"Hello world"'),
    ("text", '"yes"', '"\\"yes\\""'),
    ("text", "1,234", '"1,234"'),
    ("text", "```\ncode\n```", '"```\\ncode\\n```"'),
    ("text", "Sorry, I lost track.\n{", '"Sorry, I lost track.\\n{"'),
]

#: (answer format, the need of the combine the op feeds, raw text) -> vote or FLAG
NEEDS_TABLE: list[tuple[str, str, str, str]] = [
    ("number", "number", "12", "12"),
    ("json", "number", "12", "12"),
    ("json", "number", '{"count": 12}', FLAG),
    ("json", "number", "true", FLAG),
    ("text", "number", "12", "12"),  # a text op feeding a sum is read as a number
    ("text", "number", "twelve", FLAG),
    ("list", "list", "[1, 2]", "[1,2]"),
    ("json", "list", "[1, 2]", "[1,2]"),
    ("json", "list", "3", FLAG),
    ("text", "list", "[1, 2]", "[1,2]"),
    ("text", "list", "1, 2", FLAG),
    ("json", "boolean", "true", "true"),
    ("json", "boolean", "1", FLAG),
    ("text", "boolean", "false", "false"),
    ("text", "boolean", "no", FLAG),
]

COUNTING = (ROOT / "samples" / "counting.aalp").read_text(encoding="utf-8")


def rules(target: str) -> dict[str, Any]:
    """The answer rules of ``target``'s emitted program, run on their own (no framework)."""
    text = emit(load_text(COUNTING, str(ROOT / "samples" / "counting.aalp")), target).files[0].text
    tree = ast.parse(text)
    keep, found = [], set()
    for node in tree.body:
        names = set()
        if isinstance(node, ast.FunctionDef | ast.ClassDef):
            names = {node.name}
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names = {t.id for t in targets if isinstance(t, ast.Name)}
        if names & RULES:
            keep.append(node)
            found |= names
    assert found == RULES, f"{target}: missing {RULES - found}"
    module = ast.Module(body=keep, type_ignores=[])
    namespace: dict[str, Any] = {}
    exec("from __future__ import annotations", namespace)
    exec("import heapq, json, math\nfrom collections import Counter", namespace)
    exec("from collections.abc import Callable\nfrom typing import Any", namespace)
    exec(compile(module, f"<{target} answer rules>", "exec"), namespace)
    return namespace


@pytest.fixture(scope="module")
def targets() -> dict[str, dict[str, Any]]:
    return {target: rules(target) for target in TARGETS}


def vote(namespace: dict[str, Any], form: str, text: str, need: str | None = None) -> str:
    namespace["OPS"] = {"op": {"answer": form, "needs": need, "max_writes": None}}
    kept, answer = namespace["judge"]("op", text, 1)
    return namespace["answer_key"](answer) if kept else FLAG


@pytest.mark.parametrize(("form", "text", "want"), TABLE)
def test_every_target_reads_an_answer_alike(targets, form: str, text: str, want: str) -> None:
    got = {target: vote(namespace, form, text) for target, namespace in targets.items()}
    assert got == dict.fromkeys(TARGETS, want)


@pytest.mark.parametrize(("form", "need", "text", "want"), NEEDS_TABLE)
def test_a_combines_need_is_a_red_flag_alike(targets, form, need, text, want) -> None:
    got = {target: vote(namespace, form, text, need) for target, namespace in targets.items()}
    assert got == dict.fromkeys(TARGETS, want)


def test_the_length_red_flag_comes_first(targets) -> None:
    for namespace in targets.values():
        namespace["OPS"] = {"op": {"answer": "text", "needs": None, "max_writes": 5}}
        assert namespace["judge"]("op", "fine", 6) == (False, None)
        assert namespace["judge"]("op", "fine", 5) == (True, "fine")
        assert namespace["judge"]("op", "fine", 9, 10) == (True, "fine")  # a reduce level's


#: (combine, values, source) -> the result, or the error's message
COMBINE_TABLE: list[tuple[str, list[Any], dict[str, Any], Any]] = [
    ("sum", [1, 2.5, 3], {"op": "count", "chunks": True}, 6.5),
    ("sum", [], {"op": "count", "chunks": True}, 0),
    (
        "sum",
        [1, "12", 3],
        {"op": "count", "chunks": True},
        "combine sum needs numbers, but op 'count' answered \"12\" for chunk 1",
    ),
    (
        "sum",
        [4, True],
        {"op": "count", "chunks": True},
        "combine sum needs numbers, but op 'count' answered true for chunk 1",
    ),
    (
        "max",
        [{"n": 1}],
        {"op": "find", "chunks": False},
        "combine max needs numbers, but the answer of op 'find' holds {\"n\":1} (item 0)",
    ),
    ("max", [3, 9, 1], {"op": "count", "chunks": True}, 9),
    ("min", [], {"op": "count", "chunks": True}, None),
    ("merge", [[1, 4], [2, 3]], {"op": "sort", "chunks": True}, [1, 2, 3, 4]),
    (
        "merge",
        [[1, 4], [3, 2]],
        {"op": "sort", "chunks": True},
        "combine merge needs sorted lists, but op 'sort' answered [3,2] for chunk 1",
    ),
    (
        "merge",
        [[1], "x"],
        {"op": "sort", "chunks": True},
        "combine merge needs lists, but op 'sort' answered \"x\" for chunk 1",
    ),
    ("concat", [[1], 2, [3, 4]], {"op": "sort", "chunks": True}, [1, 2, 3, 4]),
    ("vote", [None, {"a": None}, "B", "A", "B", ""], {"op": "find", "chunks": True}, "B"),
    ("vote", [None, [], {"a": None}], {"op": "find", "chunks": True}, None),
    ("first", [7, 8], {"op": "x", "chunks": True}, 7),
]


@pytest.mark.parametrize(("how", "values", "source", "want"), COMBINE_TABLE)
def test_combines_use_every_value_or_stop_loudly(targets, how, values, source, want) -> None:
    for target, namespace in targets.items():
        if isinstance(want, str) and want.startswith("combine "):
            with pytest.raises(namespace["CombineError"]) as caught:
                namespace["combine"](how, values, source)
            assert str(caught.value) == want, target
        else:
            assert namespace["combine"](how, values, source) == want, target


def test_boolean_and_last_combines(targets) -> None:
    for namespace in targets.values():
        run = namespace["combine"]
        source = {"op": "check", "chunks": True}
        assert run("count", [True, False, True], source) == 2
        assert run("all", [True, True], source) is True and run("any", [False], source) is False
        assert run("last", [1, 2], source) == 2
        with pytest.raises(namespace["CombineError"], match="needs true or false"):
            run("all", [True, "yes"], source)


SPEC = """
model m {{ size 1 context 100k price in 1 out 1 per Mtok can count }}
task counting {{
  items digits = 40 of 1 tokens
  op count(x of digits) on m {{
    reads 10 + x tokens writes 2 tokens success 0.999
    prompt "Count the sevens." {answer}
  }}
  map count over digits
  combine {how}
}}
"""


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize(
    ("answer", "how", "words"),
    [
        ("answer list", "sum", "op 'count' answers list, but combine sum needs numbers"),
        ("answer choice", "max", "op 'count' answers choice, but combine max needs numbers"),
        ("answer number", "merge", "op 'count' answers number, but combine merge needs lists"),
    ],
)
def test_an_op_that_can_never_feed_its_combine_is_a_compile_error(target, answer, how, words):
    checked = load_text(SPEC.format(answer=answer, how=how), "counting.aalp")
    with pytest.raises(PlanError, match=words):
        emit(checked, target, decisions={"count.x": 10, "count.model": "m"})


@pytest.mark.parametrize("target", TARGETS)
def test_ops_carry_the_need_of_the_combine_they_feed(target: str) -> None:
    for answer, need in (("", "number"), ("answer json", "number")):
        checked = load_text(SPEC.format(answer=answer, how="sum"), "counting.aalp")
        text = emit(checked, target, decisions={"count.x": 10, "count.model": "m"}).files[0].text
        assert f"'needs': {need!r}" in text
    checked = load_text(SPEC.format(answer="", how="vote"), "counting.aalp")
    text = emit(checked, target, decisions={"count.x": 10, "count.model": "m"}).files[0].text
    assert "'needs': None" in text
