"""One table of how an emitted program reads an answer, run against every target.

Every target emits the same runtime core (``backends/templates/_runtime_core.py.j2``: answer
parsing, red flags, vote keys, chunk windows, combines; docs/backends.md, "Answers"). The
tables below are run through each target's emitted program as it runs: the python target's
with its own interpreter, each framework target's in that framework's venv (skipped, with the
reason, without one), all by ``targets/runtime_table.py`` with a scripted model answering the
table's text. The same text must give the same parsed value and vote key, or the same red
flag, in every target; every combine and the overlapping windows must give the same result.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from aalp.api import compile as emit
from aalp.backends import registry
from aalp.backends.base import Emitted, write
from aalp.backends.view import PlanError
from aalp.checks.loader import load_text
from aalp.front.ir import COMBINES
from conftest import TELEMETRY_OFF
from targets_env import venv_python

HERE = Path(__file__).resolve().parent
TARGETS = ("python", "langgraph", "dspy", "openai-agents", "autogen", "crewai")
FLAG = "red flag"  # a call, discarded and drawn again: never a vote
NO_ANSWER = "no answer"  # retried like a transport error: not a call, not a vote


class Reading(NamedTuple):
    """A response's text in an answer format and what every target makes of it: the parsed
    value and its vote key, ``FLAG`` or ``NO_ANSWER``. ``need``: the need of the combine the
    op feeds (docs/backends.md); ``limit``: the op's ``writes >`` red flag, in words here."""

    form: str
    text: str
    value: Any
    key: str | None = None
    need: str | None = None
    limit: int | None = None


R = Reading

READINGS: list[Reading] = [
    # number: one JSON number (an integral one is an int: 12.0 and 12 are one vote), also in
    # a code fence or double quotes, with or without thousands separators (groups of three)
    R("number", "42", 42, "42"),
    R("number", " 42 \n", 42, "42"),
    R("number", "12.0", 12, "12"),
    R("number", "1e3", 1000, "1000"),
    R("number", "-0.5", -0.5, "-0.5"),
    R("number", "1,234", 1234, "1234"),
    R("number", "-1,234,567.5", -1234567.5, "-1234567.5"),
    R("number", "12,345,678", 12345678, "12345678"),
    R("number", '"42"', 42, "42"),
    R("number", '" 42 "', 42, "42"),
    R("number", '"1,234"', 1234, "1234"),
    R("number", "```\n42\n```", 42, "42"),
    R("number", "```json\n42\n```", 42, "42"),
    R("number", '```\n"42"\n```', 42, "42"),
    R("number", "1,5", FLAG),  # a decimal comma, or a bad grouping: not read as either
    R("number", "12,34", FLAG),
    R("number", "1,2345", FLAG),
    R("number", "0,123", FLAG),
    R("number", "1,234,56", FLAG),
    R("number", "1 234", FLAG),
    R("number", "1,234e3", FLAG),
    R("number", "12 apples", FLAG),
    R("number", "twelve", FLAG),
    R("number", '"twelve"', FLAG),
    R("number", "'42'", FLAG),
    R("number", "42.", FLAG),
    R("number", "true", FLAG),
    R("number", "null", FLAG),
    R("number", "NaN", FLAG),
    R("number", "Infinity", FLAG),
    R("number", "1e999", FLAG),
    R("number", "+5", FLAG),
    R("number", ".5", FLAG),
    R("number", "0x1F", FLAG),
    R("number", "[42]", FLAG),
    R("number", '{"n": 42}', FLAG),
    R("number", "Sorry, I lost track.\n{12", FLAG),
    R("number", "", NO_ANSWER),
    R("number", "  \n ", NO_ANSWER),
    # json: strict JSON (no NaN), any value, also in a code fence; object keys sorted for the
    # vote; a JSON string is a value (never unquoted), numbers are kept as written
    R("json", '{"a": 1, "b": [2]}', {"a": 1, "b": [2]}, '{"a":1,"b":[2]}'),
    R("json", '{"b": [2], "a": 1}', {"a": 1, "b": [2]}, '{"a":1,"b":[2]}'),
    R("json", '```json\n{"a": 1}\n```', {"a": 1}, '{"a":1}'),
    R("json", "```\n[1]\n```", [1], "[1]"),
    R("json", '"yes"', "yes", '"yes"'),
    R("json", ' "yes" ', "yes", '"yes"'),
    R("json", '"é"', "é", '"é"'),
    R("json", "null", None, "null"),
    R("json", "7", 7, "7"),
    R("json", "7.0", 7.0, "7.0"),
    R("json", "yes", FLAG),
    R("json", "1,234", FLAG),
    R("json", "{not json", FLAG),
    R("json", "{'a': 1}", FLAG),
    R("json", "[1, 2", FLAG),
    R("json", '{"a": NaN}', FLAG),
    R("json", '{"a": 1} and more', FLAG),
    R("json", "[" * 100_000, FLAG),  # nested too deep for the parser: never a crash
    R("json", "", NO_ANSWER),
    # list: a JSON list, also in a code fence
    R("list", "[3, 1, 2]", [3, 1, 2], "[3,1,2]"),
    R("list", "[]", [], "[]"),
    R("list", "```python\n[1]\n```", [1], "[1]"),
    R("list", '["a", {"b": 1}]', ["a", {"b": 1}], '["a",{"b":1}]'),
    R("list", '{"a": 1}', FLAG),
    R("list", "3, 1, 2", FLAG),
    R("list", '"[1]"', FLAG),
    R("list", "", NO_ANSWER),
    # choice: one line, also in a code fence; a JSON string is unquoted and stripped ("yes"
    # and yes are one vote); case and punctuation are kept; single quotes are text
    R("choice", "yes", "yes", '"yes"'),
    R("choice", '"yes"', "yes", '"yes"'),
    R("choice", '  "yes" ', "yes", '"yes"'),
    R("choice", '" yes "', "yes", '"yes"'),
    R("choice", "Yes", "Yes", '"Yes"'),
    R("choice", "Yes.", "Yes.", '"Yes."'),
    R("choice", "'yes'", "'yes'", "\"'yes'\""),
    R("choice", "```\nB\n```", "B", '"B"'),
    R("choice", '"\\u0041"', "A", '"A"'),
    R("choice", "math 9", "math 9", '"math 9"'),
    R("choice", "yes\nno", FLAG),
    R("choice", '""', FLAG),
    R("choice", '"a\\nb"', FLAG),
    R("choice", '"yes" "no"', FLAG),
    R("choice", "Sorry, I lost track.\n{", FLAG),
    R("choice", "", NO_ANSWER),
    # text: always parses; a JSON string is unquoted and stripped; fences are kept
    R("text", "  Hello world  ", "Hello world", '"Hello world"'),
    R("text", '"yes"', "yes", '"yes"'),
    R("text", '" yes "', "yes", '"yes"'),
    R("text", '"He said \\"hi\\""', 'He said "hi"', '"He said \\"hi\\""'),
    R("text", '""', "", '""'),
    R("text", '"yes" and "no"', '"yes" and "no"', '"\\"yes\\" and \\"no\\""'),
    R("text", "'yes'", "'yes'", "\"'yes'\""),
    R("text", "Yes.", "Yes.", '"Yes."'),
    R("text", "1,234", "1,234", '"1,234"'),
    R("text", "```\ncode\n```", "```\ncode\n```", '"```\\ncode\\n```"'),
    R("text", "Sorry, I lost track.\n{", "Sorry, I lost track.\n{", '"Sorry, I lost track.\\n{"'),
    R("text", "", NO_ANSWER),
    R("text", " \n ", NO_ANSWER),
    # the length red flag (the op's writes > limit) comes before parsing
    R("text", "one two three four five", "one two three four five", None, limit=5),
    R("text", "one two three four five six", FLAG, limit=5),
    R("number", "1,234", 1234, "1234", limit=1),
    # a combine's need: one more red flag of the op feeding it (a text op is read in the
    # need's format: a number, a list, or JSON for true/false)
    R("number", "12", 12, "12", need="number"),
    R("json", "12", 12, "12", need="number"),
    R("json", '"12"', FLAG, need="number"),
    R("json", '{"count": 12}', FLAG, need="number"),
    R("json", "true", FLAG, need="number"),
    R("text", "12", 12, "12", need="number"),
    R("text", "1,234", 1234, "1234", need="number"),
    R("text", '"12"', 12, "12", need="number"),
    R("text", "twelve", FLAG, need="number"),
    R("list", "[1, 2]", [1, 2], "[1,2]", need="list"),
    R("json", "[1, 2]", [1, 2], "[1,2]", need="list"),
    R("json", "3", FLAG, need="list"),
    R("text", "[1, 2]", [1, 2], "[1,2]", need="list"),
    R("text", "1, 2", FLAG, need="list"),
    R("json", "true", True, "true", need="boolean"),
    R("json", "1", FLAG, need="boolean"),
    R("text", "false", False, "false", need="boolean"),
    R("text", "no", FLAG, need="boolean"),
    R("text", '"true"', FLAG, need="boolean"),
]

#: a valid answer drawn after a red-flagged or unanswered first sample, so the run ends:
#: (need or format) -> (text, parsed value)
SENTINELS: dict[str, tuple[str, Any]] = {
    "number": ("-7777", -7777),
    "list": ("[-7777]", [-7777]),
    "boolean": ("false", False),
    "json": ('{"sentinel": -7777}', {"sentinel": -7777}),
    "choice": ("SENTINEL", "SENTINEL"),
    "text": ("SENTINEL", "SENTINEL"),
}


class Plan(NamedTuple):
    """A map of the op ``ask`` (answer ``form``) over ``input``'s units, x at a time, and
    ``combine``: chunk c answered ``answers[c]`` (None: its items as JSON). ``want``: the
    result, or the error the run stops with."""

    name: str
    form: str
    combine: str | None
    answers: list[str] | None
    want: Any
    x: int = 1
    overlap: float | None = None
    input: Any = None


def _plan(how: str, form: str, answers: list[str], want: Any) -> Plan:
    return Plan(f"combine_{how}", form, how, answers, want)


#: every combine of the language, run as a plan's last stage, and the windows of a map
PLANS: list[Plan] = [
    _plan("sum", "number", ["1", "2.5", "3"], 6.5),
    Plan("combine_sum_text", "text", "sum", ["1,234", '"5"', " 6 "], 1245),
    _plan("concat", "json", ["[1]", "2", "[3, 4]"], [1, 2, 3, 4]),
    _plan("merge", "list", ["[1, 4]", "[2, 3]"], [1, 2, 3, 4]),
    Plan(
        "combine_merge_unsorted",
        "list",
        "merge",
        ["[1, 4]", "[3, 2]"],
        "CombineError: combine merge needs sorted lists, but op 'ask' answered [3,2] for chunk 1",
    ),
    # "B" and B are one vote; a tie (2 to 2) goes to the earliest
    _plan("vote", "choice", ["B", "A", '"B"', "A"], "B"),
    _plan("max", "number", ["3", "9", "1"], 9),
    _plan("min", "number", ["3", "-9", "1"], -9),
    _plan("count", "json", ["true", "false", "true"], 2),
    _plan("first", "json", ["7", "8"], 7),
    _plan("last", "json", ["7", "8"], 8),
    _plan("all", "json", ["true", "false"], False),
    _plan("any", "json", ["false", "true"], True),
    # windows advance by x·(1 - overlap), cut at int(j·stride): the same chunks everywhere
    Plan("windows_apart", "json", None, None, ["abcd", "efgh", "ij"], 4, None, "abcdefghij"),
    Plan(
        "windows_half", "json", None, None, ["abcd", "cdef", "efgh", "ghij"], 4, 0.5, "abcdefghij"
    ),
    Plan(
        "windows_fractional",
        "json",
        None,
        None,
        [[0, 1, 2], [1, 2, 3], [3, 4, 5], [4, 5, 6], [6, 7, 8], [7, 8, 9]],
        3,
        0.5,
        list(range(10)),
    ),
]

ERROR = "error"


def _err(message: str) -> tuple[str, str]:
    return (ERROR, message)


#: (function of the runtime core, arguments) -> result, or (ERROR, the message)
DIRECT: list[tuple[str, list[Any], Any]] = [
    ("combine", ["sum", [1, 2.5, 3], {"op": "count", "chunks": True}], 6.5),
    ("combine", ["sum", [], {"op": "count", "chunks": True}], 0),
    (
        "combine",
        ["sum", [1, "12", 3], {"op": "count", "chunks": True}],
        _err("combine sum needs numbers, but op 'count' answered \"12\" for chunk 1"),
    ),
    (
        "combine",
        ["sum", [4, True], {"op": "count", "chunks": True}],
        _err("combine sum needs numbers, but op 'count' answered true for chunk 1"),
    ),
    (
        "combine",
        ["max", [{"n": 1}], {"op": "find", "chunks": False}],
        _err("combine max needs numbers, but the answer of op 'find' holds {\"n\":1} (item 0)"),
    ),
    (
        "combine",
        ["min", [2, "x"], {"op": None, "chunks": False}],
        _err('combine min needs numbers, but the previous stage gave "x"'),
    ),
    (
        "combine",
        ["max", "x", {"op": "find", "chunks": False}],
        _err("combine max needs numbers, but op 'find' answered \"x\""),
    ),
    ("combine", ["max", [3, 9, 1], {"op": "count", "chunks": True}], 9),
    ("combine", ["max", 5, {"op": "count", "chunks": False}], 5),
    ("combine", ["min", [], {"op": "count", "chunks": True}], None),
    ("combine", ["merge", [[1, 4], [2, 3]], {"op": "sort", "chunks": True}], [1, 2, 3, 4]),
    ("combine", ["merge", [], {"op": "sort", "chunks": True}], []),
    (
        "combine",
        ["merge", [[1, 4], [3, 2]], {"op": "sort", "chunks": True}],
        _err("combine merge needs sorted lists, but op 'sort' answered [3,2] for chunk 1"),
    ),
    (
        "combine",
        ["merge", [[1], "x"], {"op": "sort", "chunks": True}],
        _err("combine merge needs lists, but op 'sort' answered \"x\" for chunk 1"),
    ),
    (
        "combine",
        ["merge", [[1, "a"]], {"op": "sort", "chunks": True}],
        _err("combine merge needs sorted lists, but op 'sort' answered [1,\"a\"] for chunk 0"),
    ),
    ("combine", ["concat", [[1], 2, [3, 4]], {"op": "sort", "chunks": True}], [1, 2, 3, 4]),
    ("combine", ["concat", [], {"op": "sort", "chunks": True}], []),
    (
        "combine",
        ["vote", [None, {"a": None}, "B", "A", "B", ""], {"op": "find", "chunks": True}],
        "B",
    ),
    ("combine", ["vote", ["A", "B", "B", "A"], {"op": "find", "chunks": True}], "A"),
    ("combine", ["vote", [None, [], {"a": None}], {"op": "find", "chunks": True}], None),
    (
        "combine",
        ["vote", [{"b": 1, "a": 2}, {"a": 2, "b": 1}, 3], {"op": "f", "chunks": True}],
        {"a": 2, "b": 1},
    ),
    ("combine", ["count", [True, False, True], {"op": "check", "chunks": True}], 2),
    ("combine", ["count", [], {"op": "check", "chunks": True}], 0),
    (
        "combine",
        ["count", [True, 1], {"op": "check", "chunks": True}],
        _err("combine count needs true or false, but op 'check' answered 1 for chunk 1"),
    ),
    ("combine", ["first", [7, 8], {"op": "x", "chunks": True}], 7),
    ("combine", ["first", [], {"op": "x", "chunks": True}], None),
    ("combine", ["last", [7, 8], {"op": "x", "chunks": True}], 8),
    ("combine", ["last", [], {"op": "x", "chunks": True}], None),
    ("combine", ["all", [True, True], {"op": "check", "chunks": True}], True),
    ("combine", ["all", [], {"op": "check", "chunks": True}], True),
    (
        "combine",
        ["all", [True, "yes"], {"op": "check", "chunks": True}],
        _err("combine all needs true or false, but op 'check' answered \"yes\" for chunk 1"),
    ),
    ("combine", ["any", [False, False], {"op": "check", "chunks": True}], False),
    ("combine", ["any", [], {"op": "check", "chunks": True}], False),
    ("combine", ["any", [False, True], {"op": "check", "chunks": True}], True),
    ("windows", [list(range(10)), 4, 4.0], [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]),
    (
        "windows",
        [list(range(10)), 4, 2.0],
        [[0, 1, 2, 3], [2, 3, 4, 5], [4, 5, 6, 7], [6, 7, 8, 9]],
    ),
    ("windows", ["abcdefg", 3, 1.5], ["abc", "bcd", "def", "efg"]),
    ("windows", ["ab", 5, 2.5], ["ab"]),
    ("windows", [[], 3, 1.5], []),
    ("winner", [{'"b"': 2, '"a"': 2, '"c"': 1}], '"b"'),
    ("winner", [{'"b"': 1, '"a"': 2}], '"a"'),
    ("answer_key", [{"b": [1, 2.5], "a": "é"}], '{"a":"é","b":[1,2.5]}'),
    ("plurality", [["x", "y", "y", "x"]], "x"),
    ("plurality", [[]], None),
]


# --- running the tables ----------------------------------------------------------------------

SPEC = """
model m {{ size 1 context 100k price in 1 out 1 per Mtok can ask }}
task {name} {{
  items units = {count} of 1 tokens
  op ask(x of units) on m {{
    reads 10 + x tokens writes 2 tokens success 0.999
    prompt "Answer the request." answer {form}
  }}
  map ask over units{overlap}
{combine}
}}
"""


#: the program every reading runs through: one op over one unit (the driver sets its format)
READER = Plan("table", "text", None, ["?"], None)


def _emit(target: str, plan: Plan) -> list[Emitted]:
    """The files of ``plan`` for ``target``: the program first (a framework's runtime
    module beside it)."""
    count = len(plan.input) if plan.input is not None else len(plan.answers or [1])
    text = SPEC.format(
        name=plan.name,
        count=count,
        form=plan.form,
        overlap="" if plan.overlap is None else f" overlap {plan.overlap}",
        combine="" if plan.combine is None else f"  combine {plan.combine}",
    )
    decisions = {"ask.x": plan.x, "ask.model": "m", "ask.vote": "none"}
    return emit(load_text(text, f"{plan.name}.aalp"), target, decisions=decisions).files


def _compile(target: str, plan: Plan, folder: Path) -> str:
    """The program of ``plan`` for ``target``, written under ``folder``: its path."""
    return write(_emit(target, plan), str(folder))[0]


def _input(plan: Plan) -> dict[str, Any]:
    units = plan.input if plan.input is not None else ["u"] * len(plan.answers or [])
    return {"units": units}


_observed: dict[str, dict[str, Any]] = {}


def observed(target: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """What ``target``'s emitted programs made of every table (one run of the driver)."""
    python = sys.executable if target == "python" else venv_python(target)
    if target in _observed:
        return _observed[target]
    folder = tmp_path_factory.mktemp(target.replace("-", "_"))
    readings = [
        {
            "form": row.form,
            "text": row.text,
            "need": row.need,
            "limit": row.limit,
            "sentinel": SENTINELS[row.need or row.form][0],
        }
        for row in READINGS
    ]
    cases = {
        "program": _compile(target, READER, folder),
        "readings": readings,
        "plans": [
            {
                "program": _compile(target, plan, folder),
                "answers": plan.answers,
                "input": _input(plan),
            }
            for plan in PLANS
        ],
        "direct": [{"function": name, "args": args} for name, args, _ in DIRECT],
    }
    (folder / "cases.json").write_text(json.dumps(cases), encoding="utf-8")
    run = subprocess.run(
        [python, str(HERE / "targets" / "runtime_table.py"), target, str(folder / "cases.json")],
        capture_output=True,
        text=True,
        env={**os.environ, **TELEMETRY_OFF},
        timeout=900,
        check=False,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    _observed[target] = json.loads(run.stdout.strip().splitlines()[-1])
    return _observed[target]


def _same(got: Any, want: Any) -> bool:
    """Equal as JSON values, int and float told apart (12 and 12.0 are different values)."""
    if isinstance(want, bool) or isinstance(got, bool):
        return type(got) is type(want) and got == want
    if isinstance(want, int | float) and isinstance(got, int | float):
        return type(got) is type(want) and got == want
    if isinstance(want, list) and isinstance(got, list):
        return len(got) == len(want) and all(map(_same, got, want))
    if isinstance(want, dict) and isinstance(got, dict):
        return got.keys() == want.keys() and all(_same(got[k], want[k]) for k in want)
    return type(got) is type(want) and got == want


def _outcome(row: Reading, got: dict[str, Any]) -> Any:
    """A run of one reading as the table states it: ``(value, key)``, FLAG or NO_ANSWER."""
    assert "ok" in got, got
    run = got["ok"]
    sentinel = SENTINELS[row.need or row.form][1]
    if run["calls"] == 2 and run["retried"] == 0 and _same(run["result"], sentinel):
        return FLAG  # the first sample was a call, discarded; the sentinel was the vote
    if run["calls"] == 1 and run["retried"] == 1 and _same(run["result"], sentinel):
        return NO_ANSWER  # the first response was retried, not a call
    assert (run["calls"], run["retried"]) == (1, 0), run
    return run["result"], run["key"]


def _row_id(row: Reading) -> str:
    text = row.text if len(row.text) <= 24 else row.text[:21] + "..."
    extra = "".join(f"-{k}={v}" for k, v in (("need", row.need), ("limit", row.limit)) if v)
    return f"{row.form}{extra}-{text!r}"


@pytest.mark.parametrize("row", READINGS, ids=[_row_id(r) for r in READINGS])
@pytest.mark.parametrize("target", TARGETS)
def test_a_response_reads_alike(target: str, row: Reading, tmp_path_factory) -> None:
    got = _outcome(row, observed(target, tmp_path_factory)["readings"][READINGS.index(row)])
    if row.value in (FLAG, NO_ANSWER):
        assert got == row.value
    else:
        value, key = got
        assert _same(value, row.value), value
        assert key == (row.key if row.key is not None else json.dumps(row.value))


@pytest.mark.parametrize("plan", PLANS, ids=[p.name for p in PLANS])
@pytest.mark.parametrize("target", TARGETS)
def test_a_plan_combines_and_windows_alike(target: str, plan: Plan, tmp_path_factory) -> None:
    got = observed(target, tmp_path_factory)["plans"][PLANS.index(plan)]
    if isinstance(plan.want, str) and plan.want.startswith("CombineError"):
        assert got == {"error": plan.want}
    else:
        assert "ok" in got, got
        assert _same(got["ok"]["result"], plan.want), got
        chunks = len(plan.answers if plan.answers is not None else plan.want)
        assert (got["ok"]["calls"], got["ok"]["retried"]) == (chunks, 0)  # one call a chunk


@pytest.mark.parametrize(
    ("index", "function"),
    list(enumerate(name for name, _, _ in DIRECT)),
    ids=[f"{i:02d}-{name}-{args[0]!r}"[:40] for i, (name, args, _) in enumerate(DIRECT)],
)
@pytest.mark.parametrize("target", TARGETS)
def test_the_runtime_functions_agree(target: str, index: int, function: str, tmp_path_factory):
    got = observed(target, tmp_path_factory)["direct"][index]
    want = DIRECT[index][2]
    if isinstance(want, tuple) and want[0] == ERROR:
        assert got == {"error": f"CombineError: {want[1]}"}
    else:
        assert "ok" in got, got
        assert _same(got["ok"], want), got


def test_every_combine_of_the_language_is_in_the_table() -> None:
    assert {p.combine for p in PLANS if p.combine} == set(COMBINES)
    assert {args[0] for name, args, _ in DIRECT if name == "combine"} == set(COMBINES)


# --- the core is one partial, emitted whole by every target -----------------------------------


def _core() -> str:
    return registry.get("python").environment().get_template("_runtime_core.py.j2").render()


@pytest.mark.parametrize("target", TARGETS)
def test_every_target_emits_the_runtime_core_once(target: str) -> None:
    """Once per program: inside the python target's, in the runtime module a framework
    program imports (never in the framework program itself)."""
    files = _emit(target, READER)
    assert sum(item.text.count(_core()) for item in files) == 1
    if target != "python":
        assert [item.path for item in files][1:] == ["aalp_runtime.py"]
        assert files[0].text.count("def parse_answer(") == 0


def test_the_runtime_core_runs_every_combine_of_the_language() -> None:
    namespace: dict[str, Any] = {}
    exec("import heapq, json, math, re\nfrom collections import Counter", namespace)
    exec("from collections.abc import Callable\nfrom typing import Any", namespace)
    exec(compile(_core(), "<runtime core>", "exec"), namespace)
    assert set(namespace["COMBINES"]) == set(COMBINES)


# --- what a combine needs is checked when the plan compiles -----------------------------------

NEEDS_SPEC = """
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
        ("answer number", "all", "op 'count' answers number, but combine all needs true or"),
    ],
)
def test_an_op_that_can_never_feed_its_combine_is_a_compile_error(target, answer, how, words):
    checked = load_text(NEEDS_SPEC.format(answer=answer, how=how), "counting.aalp")
    with pytest.raises(PlanError, match=words):
        emit(checked, target, decisions={"count.x": 10, "count.model": "m"})


@pytest.mark.parametrize("target", TARGETS)
def test_ops_carry_the_need_of_the_combine_they_feed(target: str) -> None:
    for answer, how, need in (("", "sum", "number"), ("answer json", "any", "boolean")):
        checked = load_text(NEEDS_SPEC.format(answer=answer, how=how), "counting.aalp")
        text = emit(checked, target, decisions={"count.x": 10, "count.model": "m"}).files[0].text
        assert f"'needs': {need!r}" in text
    checked = load_text(NEEDS_SPEC.format(answer="", how="vote"), "counting.aalp")
    text = emit(checked, target, decisions={"count.x": 10, "count.model": "m"}).files[0].text
    assert "'needs': None" in text
