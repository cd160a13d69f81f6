"""Every sample parses, says where its numbers come from, has a baseline and a real prompt,
and keeps its key numbers in params that ``-D`` can override."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from aalp.front import ir
from aalp.front.parser import parse, parse_expr
from aalp.front.printer import format_expr
from aalp.front.serialize import spec_to_json

ROOT = Path(__file__).parent.parent
SAMPLES = ROOT / "samples"

# the params each task family must expose (issue 2), and op names the simulated worlds answer
EXPECTED = {
    "hanoi": {"disks", "p", "target"},
    "counting": {"n"},
    "sorting": {"n"},
    "retrieval": {"n"},
    "routing": {"n", "k"},
    "debugging": {"k", "l", "b"},
    "evolution": {"k", "l"},
    "voting": {"alpha", "p1", "p2"},
    "long_context": {"n", "per_record", "prompt", "answer"},
    "invoices": {"n", "p_small", "p_big", "p_check"},
    "research_agent": {"q", "k", "doc"},
    "tree_of_thoughts": {"p_step", "p_rate"},
}


def load(name: str) -> tuple[str, ir.Spec]:
    path = SAMPLES / f"{name}.aalp"
    text = path.read_text(encoding="utf-8")
    return text, parse(text, str(path))


def test_every_family_has_a_sample() -> None:
    assert {p.stem for p in SAMPLES.glob("*.aalp")} == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_sample_shape(name: str) -> None:
    text, spec = load(name)
    assert text.startswith("# "), "a header comment says where the numbers come from"
    header = text.split("\n\n", 1)[0]
    assert re.search(r"arXiv \d{4}\.\d{5}", header), "the header cites its source"
    assert EXPECTED[name] <= {p.name for p in spec.params}
    assert len(spec.tasks) == 1
    task = spec.tasks[0]
    assert task.name == name
    assert task.baselines, "each sample has the intuitive design as a baseline"
    assert task.stages


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_prompts_state_the_answer_format(name: str) -> None:
    _, spec = load(name)
    for op in spec.tasks[0].ops:
        assert op.prompt is not None, op.name
        if op.prompt.file is not None:
            text = (SAMPLES / op.prompt.file).read_text(encoding="utf-8")
        else:
            text = op.prompt.text or ""
        # free text (a proposed step nobody votes on) says so; every other format is JSON
        named = "as text" if op.answer == "text" else "JSON"
        assert named in text, (op.name, "the prompt names the exact answer format")
        assert op.answer in {"json", "number", "list", "choice", "text"}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_params_take_overrides(name: str) -> None:
    """``-D name=value`` values go through ``parse_expr``: each param's printed value does."""
    _, spec = load(name)
    for param in spec.params:
        assert parse_expr(format_expr(param.value)) == param.value


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_json_dump_is_plain_and_deterministic(name: str) -> None:
    text, spec = load(name)
    first = json.dumps(spec_to_json(spec))
    again = json.dumps(spec_to_json(parse(text, str(SAMPLES / f"{name}.aalp"))))
    assert first == again
    data = json.loads(first)
    assert data["node"] == "Spec"
    task = data["tasks"][0]
    assert task["span"]["line"] >= 1
    keys = list(task)
    assert keys[0] == "node" and keys[-1] == "span"


def test_json_formulas_have_text_and_tree() -> None:
    _, spec = load("hanoi")
    data = spec_to_json(spec)
    steps = data["tasks"][0]["data"][0]["count"]
    assert steps["text"] == "2^disks - 1"
    assert steps["tree"]["node"] == "BinOp" and steps["tree"]["op"] == "-"
    assert steps["tree"]["left"]["right"] == {
        "node": "Name",
        "id": "disks",
        "span": steps["tree"]["left"]["right"]["span"],
    }
    p = data["params"][1]
    assert p["value"]["tree"]["value"] == "499/500" and p["value"]["tree"]["float"] == 0.998
    assert p["doc"] == "per-step success of gpt-4.1-mini"


def test_hanoi_means_maker() -> None:
    _, spec = load("hanoi")
    task = spec.tasks[0]
    move = task.op("move")
    assert move.granularity == ir.Granularity("x", "s")
    assert task.stages == (ir.ChainStage(("move",), "s"),)
    assert task.boosters[0].kind == "ahead_by"
    assert move.red_flag is not None and move.red_flag.unparsable
    assert {b.name for b in task.baselines} == {"single_agent", "one_step_no_vote"}
    cheap = spec.model("gpt41mini")
    assert (cheap.price_in, cheap.price_out) == (parse_expr("0.4"), parse_expr("1.6"))


def test_debugging_baseline_is_the_conversation() -> None:
    _, spec = load("debugging")
    pins = {(p.op, p.field): p.value for p in spec.tasks[0].baselines[0].pins}
    assert pins == {
        ("check", "x"): ir.Name("k"),
        ("fix", "x"): ir.Name("k"),
        ("check", "history"): ir.Name("full"),
        ("fix", "history"): ir.Name("full"),
    }
    assert spec.tasks[0].stages[0] == ir.ChainStage(("check", "fix"), "bugs", "choose")
