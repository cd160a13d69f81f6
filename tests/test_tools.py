"""Tools: ``tool NAME { price P per call  latency L ms  success S }`` and ops that run on one
(docs/language.md §2, tools; docs/model.md §1, tools)."""

from __future__ import annotations

import pytest
from aalp import api, codes
from aalp.diagnostics import SpecError
from aalp.front.parser import parse
from aalp.front.printer import format_spec
from aalp.model import cost

SPEC = """
model small { size 1  context 8k  price in 0.15 out 0.6 per Mtok  can answer }
tool web { price 0.001 per call  latency 300 ms  success 0.98 }
task ask {
  items qs = 4 of 100 tokens
  op search on web { }
  op answer on small { reads 400 tokens  writes 50 tokens  success 0.9 }
  map search, answer over qs
  allow retry max 3 until exact on search
  minimize dollars
}
"""


def test_round_trip_keeps_the_tool_and_its_op_without_tokens():
    spec = parse(SPEC)
    assert [t.name for t in spec.tools] == ["web"]
    search = spec.tasks[0].op("search")
    assert search.io == () and search.success[0].p == spec.tools[0].success
    text = format_spec(spec)
    assert "tool web {" in text and "latency 300 ms" in text
    assert parse(text) == spec and format_spec(parse(text)) == text


def test_seconds_unit_is_milliseconds_inside():
    spec = parse(SPEC.replace("latency 300 ms", "latency 0.3 s"))
    assert "latency 300 ms" in format_spec(spec)


def test_a_tool_call_costs_its_price_and_takes_its_latency():
    checked = api.check(parse(SPEC))
    d = {"search.model": "web", "search.vote": "none", "answer.model": "small"}
    d |= {"answer.vote": "none"}
    e = cost.evaluate(checked, None, d)
    assert e.feasible
    # hand-derived: 4 tool calls (0 tokens, $0.001 each) + 4 calls of 400 + 50 tokens
    assert e.metrics.calls == pytest.approx(8)
    assert e.metrics.tokens == pytest.approx(4 * 450)
    assert e.metrics.forward_passes == pytest.approx(4 * 50)
    llm = 4 * (0.15 * 400 + 0.6 * 50) / 1e6
    assert e.metrics.dollars == pytest.approx(4 * 0.001 + llm)
    assert e.success == pytest.approx((0.98 * 0.9) ** 4)


def test_retries_of_a_tool_op_are_priced_per_try():
    checked = api.check(parse(SPEC))
    d = {"search.model": "web", "search.vote": "none", "search.retries": 2}
    d |= {"answer.model": "small", "answer.vote": "none"}
    e = cost.evaluate(checked, None, d)
    # r = 2 tries, an exact check: the second runs when the first fails (q = 0.02)
    q = 0.02
    tries = 1 + q
    llm = 4 * (0.15 * 400 + 0.6 * 50) / 1e6
    assert e.metrics.dollars == pytest.approx(4 * 0.001 * tries + llm)
    assert e.success == pytest.approx(((1 - q**2) * 0.9) ** 4)


@pytest.mark.parametrize(
    "edit, code",
    [
        (("op search on web { }", "op search on web, small { }"), codes.TOOL_AND_MODEL),
        (("op search on web { }", "op search on web { reads 5 tokens }"), codes.TOOL_TOKENS),
        (
            ("allow retry max 3 until exact on search", "allow vote majority on search"),
            codes.TOOL_VOTE,
        ),
        (("price 0.001 per call", "price -1 per call"), codes.BAD_TOOL),
        (("op search on web { }", "op search on webb { }"), codes.UNKNOWN_MODEL),
    ],
)
def test_diagnostics(edit, code):
    with pytest.raises(SpecError) as err:
        api.check(parse(SPEC.replace(*edit)))
    assert code in {d.code for d in err.value.diagnostics}


def test_an_op_on_a_model_still_needs_its_tokens():
    with pytest.raises(SpecError) as err:
        parse(SPEC.replace("reads 400 tokens  ", ""))
    assert codes.MISSING_CLAUSE in {d.code for d in err.value.diagnostics}
