"""The explorer's API functions (``aalp.explore.api``): controls, settings, plans, frontier,
growth, code, and bad input answered with diagnostics.

Settings from the page must mean exactly what the same change written into the spec means, so
most tests compare a setting against an edit of the spec text (an independent path through the
parser), or against hand-derived values from docs/model.md.
"""

from __future__ import annotations

import io
import json
import math
import re
import zipfile
from fractions import Fraction

import pytest
from aalp.explore import api
from aalp.explore.controls import (
    Settings,
    SettingsError,
    apply_settings,
    probability_controls,
    settings_from_json,
)
from aalp.front.expr import evaluate
from aalp.front.parser import parse
from conftest import SAMPLES

HANOI = (SAMPLES / "hanoi.aalp").read_text(encoding="utf-8")
HANOI_FILE = str(SAMPLES / "hanoi.aalp")

# A small spec with literal probabilities and a literal target (the samples use parameters).
SMALL = """\
param n = 400
model small { size 1  context 100k  price in 1 out 2 per Mtok  can solve }
task t {
  items parts = n of 10 tokens
  op solve(x of parts) on small {
    reads 20 + 10*x tokens
    writes 5 tokens
    success 0.999^x
  }
  map solve over parts
  combine sum
  allow vote majority max 9 on solve
  require success >= 0.9
  minimize cost
}
"""


def _edit(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, old
    return text.replace(old, new)


def _plan(result: dict) -> dict:
    assert result["ok"], result["diagnostics"]
    return result["plan"]


# --- controls ---------------------------------------------------------------------------------


def test_hanoi_controls_describe_every_size_probability_target_and_decision():
    result = api.check_spec(HANOI, HANOI_FILE)
    assert result["ok"] and result["task"] == "hanoi"
    controls = result["controls"]
    params = {c["name"]: c for c in controls["params"]}
    # disks is an exponent (s = 2^disks - 1): a linear integer slider, never 6 decades of it
    assert params["disks"] | {} == params["disks"]
    assert (params["disks"]["scale"], params["disks"]["integer"]) == ("linear", True)
    assert params["disks"]["min"] == 1 and params["disks"]["value"] == 20
    assert {params["p"]["kind"], params["p_big"]["kind"]} == {"probability"}
    assert params["p"]["scale"] == "nines" and params["p"]["min"] == 0.5
    # the target is the parameter 'target': one slider for it, bound to that parameter
    assert controls["target"] == {"metric": "success", "value": 0.95, "param": "target"}
    assert "target" not in params
    assert controls["objective"]["value"] == "minimize dollars"
    decisions = {d["key"]: d for d in controls["decisions"]}
    assert set(decisions) == {"move.x", "move.model", "move.vote", "move.votes"}
    assert decisions["move.model"]["choices"] == ["gpt41mini", "gpt41"]
    assert decisions["move.vote"]["choices"] == ["none", "ahead_by"]


def test_decision_controls_follow_the_decision_space():
    debugging = (SAMPLES / "debugging.aalp").read_text(encoding="utf-8")
    decisions = {d["key"]: d for d in api.check_spec(debugging)["controls"]["decisions"]}
    # `chain check, fix over bugs history choose`: one policy per chain, named by its first op
    assert decisions["check.history"]["choices"] == ["stateless", "full"]
    assert "fix.history" not in decisions
    # an op that names several models may run on any of them
    anywhere = _edit(
        SMALL,
        "  can solve }",
        "  can solve }\nmodel big { size 3  context 1M  price in 5 out 9 per Mtok  can solve }",
    )
    anywhere = _edit(
        anywhere, "op solve(x of parts) on small {", "op solve(x of parts) on small, big {"
    )
    decisions = {d["key"]: d for d in api.check_spec(anywhere)["controls"]["decisions"]}
    assert decisions["solve.model"]["choices"] == ["small", "big"]
    pinned = api.optimize_spec(anywhere, settings=Settings(pins={"solve.model": "big"}))
    assert _plan(pinned)["decisions"]["solve.model"] == "big"


def test_size_parameters_outside_exponents_get_log_sliders_spanning_decades():
    controls = api.check_spec(SMALL)["controls"]
    (n,) = controls["params"]
    assert n["scale"] == "log" and n["max"] / n["min"] >= 1e5
    assert n["min"] <= 400 <= n["max"]


def test_probability_literal_slider_rewrites_only_that_literal():
    spec = parse(SMALL)
    (control,) = probability_controls(spec.tasks[0])
    assert control["value"] == pytest.approx(0.999)
    _, task = apply_settings(spec, Settings(probabilities={control["id"]: 0.99}))
    success = task.ops[0].success[0].p
    # 0.99^x at x = 3, by hand
    assert evaluate(success, {"x": 3}) == pytest.approx(0.99**3, rel=1e-12)


# --- settings mean what the same edit of the text means ---------------------------------------


def test_parameter_setting_equals_editing_the_parameter():
    by_setting = api.optimize_spec(HANOI, HANOI_FILE, Settings(params={"disks": "12"}))
    by_text = api.optimize_spec(_edit(HANOI, "param disks = 20", "param disks = 12"), HANOI_FILE)
    assert _plan(by_setting) == _plan(by_text)


def test_target_setting_equals_editing_the_requirement():
    by_setting = api.optimize_spec(SMALL, settings=Settings(target=0.99))
    by_text = api.optimize_spec(_edit(SMALL, "success >= 0.9", "success >= 0.99"))
    assert _plan(by_setting) == _plan(by_text)
    assert _plan(by_setting)["success"] >= 0.99


def test_probability_setting_equals_editing_the_literal():
    spec = parse(SMALL)
    (control,) = probability_controls(spec.tasks[0])
    by_setting = api.optimize_spec(SMALL, settings=Settings(probabilities={control["id"]: 0.995}))
    by_text = api.optimize_spec(_edit(SMALL, "success 0.999^x", "success 0.995^x"))
    assert _plan(by_setting) == _plan(by_text)


def test_objective_and_pin_settings_equal_editing_the_spec():
    by_setting = api.optimize_spec(
        HANOI, HANOI_FILE, Settings(objective="minimize cost", pins={"move.x": "1"})
    )
    edited = _edit(HANOI, "  minimize dollars\n", "  minimize cost\n  pin move.x = 1\n")
    by_text = api.optimize_spec(edited, HANOI_FILE)
    assert _plan(by_setting) == _plan(by_text)
    assert _plan(by_setting)["decisions"]["move.x"] == 1


def test_auto_removes_a_pin_written_in_the_spec():
    pinned = _edit(HANOI, "  minimize dollars\n", "  minimize dollars\n  pin move.x = 1\n")
    free = _plan(api.optimize_spec(HANOI, HANOI_FILE))
    unpinned = _plan(api.optimize_spec(pinned, HANOI_FILE, Settings(pins={"move.x": "auto"})))
    assert unpinned == free


def test_a_less_reliable_model_never_makes_the_optimum_cheaper():
    # Every plan's success falls with p, so the set of plans meeting the target only shrinks.
    costs = []
    for p in ("0.999", "0.998", "0.995"):
        plan = _plan(api.optimize_spec(HANOI, HANOI_FILE, Settings(params={"p": p})))
        assert plan["feasible"]
        costs.append(plan["metrics"]["dollars"])
    assert costs[0] <= costs[1] <= costs[2]
    assert costs[0] < costs[2]


# --- the plan tree ----------------------------------------------------------------------------


def _nodes(node: dict):
    yield node
    for child in node["children"]:
        yield from _nodes(child)


@pytest.mark.parametrize("name", sorted(p.stem for p in SAMPLES.glob("*.aalp")))
def test_tree_shares_add_up_to_the_plan_total(name):
    path = SAMPLES / f"{name}.aalp"
    result = api.optimize_spec(path.read_text(encoding="utf-8"), str(path))
    assert result["ok"], result["diagnostics"]
    json.dumps(result, allow_nan=False)  # strict JSON: no NaN or Infinity reaches the page
    if result["tree"] is None:
        pytest.skip(f"{name} has no plan")
    root = result["tree"]
    metric = result["objective"]["metric"]
    metric = "cost" if metric == "success" else metric
    assert root["value"] == pytest.approx(result["plan"]["metrics"][metric], rel=1e-12)
    stages = root["children"]
    assert math.fsum(s["value"] for s in stages) == pytest.approx(root["value"], rel=1e-9)
    for stage in stages:
        ops = [c["value"] for c in stage["children"]]
        assert math.fsum(ops) == pytest.approx(stage["value"], rel=1e-9, abs=1e-12)
    shares = [s["share"] for s in stages if s["share"] is not None]
    if root["value"] > 0:
        assert math.fsum(shares) == pytest.approx(1.0, rel=1e-9)


def test_hanoi_op_node_matches_the_one_call_formula_by_hand():
    result = api.optimize_spec(HANOI, HANOI_FILE)
    plan = _plan(result)
    (stage,) = result["tree"]["children"]
    (op,) = stage["children"]
    x = plan["decisions"]["move.x"]
    model = plan["decisions"]["move.model"]
    price_in, price_out = {"gpt41mini": (0.40, 1.60), "gpt41": (2.0, 8.0)}[model]
    # docs/model.md §1: one call reads 600 and writes 538·x tokens; dollars per call
    one_call = (price_in * 600 + price_out * 538 * x) / 1e6
    steps = 2**20 - 1
    chunks = math.ceil(steps / x)
    assert op["count"] == f"{chunks:,}"
    samples = float(re.search(r"× ([0-9.e+-]+) ×", op["formula"]).group(1))
    assert op["value"] == pytest.approx(chunks * samples * one_call, rel=1e-5)
    assert f"x = {x}" in op["decisions"] and f"model {model}" in op["decisions"]


# --- the frontier -----------------------------------------------------------------------------


def test_frontier_points_are_mutually_non_dominated_and_clicking_one_shows_it():
    result = api.optimize_spec(HANOI, HANOI_FILE)
    metric = result["frontier"]["metric"]
    points = result["frontier"]["success"]
    assert len(points) >= 3
    for a in points:
        for b in points:
            dominated = (
                b["metrics"][metric] <= a["metrics"][metric]
                and b["success"] >= a["success"]
                and (b["metrics"][metric] < a["metrics"][metric] or b["success"] > a["success"])
            )
            assert not dominated, (a["decisions"], b["decisions"])
    assert sum(p["optimal"] for p in points) <= 1
    by_latency = result["frontier"]["latency"]
    for a in by_latency:
        for b in by_latency:
            better = (b["metrics"][metric], b["metrics"]["latency"])
            worse = (a["metrics"][metric], a["metrics"]["latency"])
            assert not (better != worse and all(x <= y for x, y in zip(better, worse, strict=True)))
    point = points[len(points) // 2]
    shown = api.plan_for(HANOI, HANOI_FILE, Settings(), point["decisions"])
    assert shown["ok"]
    assert shown["plan"]["decisions"] == point["decisions"]
    assert shown["plan"]["metrics"][metric] == pytest.approx(point["metrics"][metric], rel=1e-9)
    assert shown["plan"]["success"] == pytest.approx(point["success"], rel=1e-9, abs=1e-300)


def test_baselines_are_reported_with_their_ratio_to_the_plan():
    result = api.optimize_spec(HANOI, HANOI_FILE)
    baselines = {b["name"]: b for b in result["baselines"]}
    assert set(baselines) == {"single_agent", "one_step_no_vote"}
    # one move per call, no voting: success p^s = 0.998^(2^20 - 1), hopeless against 0.95
    one = baselines["one_step_no_vote"]
    assert not one["feasible"]
    assert one["success"] == pytest.approx(0.998 ** (2**20 - 1), abs=1e-300)
    plan = _plan(result)
    expected = one["metrics"]["dollars"] / plan["metrics"]["dollars"]
    assert one["ratio"] == pytest.approx(expected, rel=1e-9)


# --- growth -----------------------------------------------------------------------------------


def test_growth_chart_shows_makers_s_log_s_against_the_no_vote_baseline():
    result = api.sweep_spec(HANOI, HANOI_FILE)
    assert result["ok"] and result["variable"] == "s" and result["metric"] == "dollars"
    series = {s["name"]: s for s in result["series"]}
    # MAKER: voting on every step costs Θ(s ln s); one unvoted call per step costs Θ(s)
    assert series["optimal plan"]["growth"] == "Θ(s·log s)"
    assert series["baseline one_step_no_vote"]["growth"] == "Θ(s)"
    # all s moves in one call: 538·s tokens fit the 1M context only below s ≈ 1858, too few
    # sizes to measure a growth class; the series says so instead of drawing anything
    assert series["baseline single_agent"]["growth"] is None
    assert series["baseline single_agent"]["points"] == []
    sizes = [x for x, _ in series["optimal plan"]["points"]]
    assert sizes == sorted(sizes) and sizes[-1] / sizes[0] > 1e4


# --- code and determinism ---------------------------------------------------------------------


def test_emitted_zip_is_deterministic_and_its_python_compiles():
    first = api.emit_zip(HANOI, HANOI_FILE, Settings(), "python")
    second = api.emit_zip(HANOI, HANOI_FILE, Settings(), "python")
    assert isinstance(first, bytes) and first == second
    with zipfile.ZipFile(io.BytesIO(first)) as archive:
        names = archive.namelist()
        assert names == sorted(names)
        sources = [n for n in names if n.endswith(".py")]
        assert sources
        for name in sources:
            compile(archive.read(name).decode("utf-8"), name, "exec")


def test_same_input_gives_byte_identical_answers():
    one = api.optimize_spec(HANOI, HANOI_FILE, Settings(params={"disks": "16"}))
    api.forget()  # compute again rather than remember
    two = api.optimize_spec(HANOI, HANOI_FILE, Settings(params={"disks": "16"}))
    assert one is not two
    assert json.dumps(one, sort_keys=True) == json.dumps(two, sort_keys=True)
    json.dumps(one, allow_nan=False)  # strict JSON: no NaN or Infinity reaches the page


# --- bad input: diagnostics, never an exception ----------------------------------------------


def test_syntax_error_is_reported_where_it_is_then_fixed():
    broken = _edit(HANOI, "    reads 600 tokens", "    reads 600 tokns")
    result = api.check_spec(broken, HANOI_FILE)
    assert not result["ok"]
    line = broken.splitlines().index("    reads 600 tokns") + 1
    assert any(d["severity"] == "error" and d["line"] == line for d in result["diagnostics"])
    assert api.check_spec(HANOI, HANOI_FILE)["ok"]


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (Settings(params={"nope": "3"}), "nope"),
        (Settings(params={"disks": "many"}), "disks"),
        (Settings(task="towers"), "towers"),
        (Settings(probabilities={"move:7": 0.9}), "move:7"),
        (Settings(objective="minimize happiness"), "happiness"),
        (Settings(pins={"move.colour": "red"}), "move.colour"),
        (Settings(pins={"move.x": "1 +"}), "1 +"),
    ],
)
def test_bad_settings_give_diagnostics(settings, message):
    for result in (
        api.check_spec(HANOI, HANOI_FILE, settings),
        api.optimize_spec(HANOI, HANOI_FILE, settings),
    ):
        assert not result["ok"]
        assert any(message in d["message"] for d in result["diagnostics"]), result


def test_bad_decisions_and_targets_give_diagnostics():
    for decisions in ({"move": 1}, {"move.x": [1]}, {"move.x": True}):
        result = api.plan_for(HANOI, HANOI_FILE, Settings(), decisions)
        assert not result["ok"] and result["diagnostics"]
    missing = api.plan_for(HANOI, HANOI_FILE, Settings(), {"move.x": 1})
    assert not missing["ok"]
    unknown = api.emit_zip(HANOI, HANOI_FILE, Settings(), "pyhton")
    assert isinstance(unknown, dict) and "python" in unknown["diagnostics"][0]["message"]


@pytest.mark.parametrize(
    "data",
    [
        {"params": []},
        {"params": {"disks": None}},
        {"probabilities": {"move:0": "high"}},
        {"probabilities": {"move:0": float("nan")}},
        {"target": 1.5},
        {"target": "0.9"},
        {"task": 3},
        {"objective": ["minimize", "cost"]},
    ],
)
def test_settings_of_the_wrong_shape_are_refused(data):
    with pytest.raises(SettingsError):
        settings_from_json(data)


def test_settings_from_json_reads_the_page_settings():
    settings = settings_from_json(
        {
            "task": "hanoi",
            "params": {"disks": 12},
            "probabilities": {},
            "target": 0.99,
            "objective": "minimize cost",
            "pins": {"move.x": "1", "move.vote": ""},
        }
    )
    expected = Settings("hanoi", {"disks": "12"}, {}, 0.99, "minimize cost", {"move.x": "1"})
    assert settings == expected
    assert Fraction(settings.params["disks"]) == 12


def test_a_remembered_answer_is_a_private_copy():
    one = api.optimize_spec(SMALL)
    one["plan"]["decisions"]["solve.x"] = -1  # a caller scribbling on its answer
    two = api.optimize_spec(SMALL)
    assert two["plan"]["decisions"]["solve.x"] != -1


def test_the_tree_counts_exactly_at_two_to_the_sixty_four_steps():
    result = api.optimize_spec(HANOI, HANOI_FILE, Settings(params={"disks": "64"}))
    plan = _plan(result)
    json.dumps(result, allow_nan=False)
    (stage,) = result["tree"]["children"]
    chunks, x = re.match(r"([0-9,]+) chunks of x = ([0-9]+)", stage["decisions"][0]).groups()
    assert int(x) == plan["decisions"]["move.x"]
    steps = 2**64 - 1  # exact integers: a float would round 2^64 - 1 up to 2^64
    assert int(chunks.replace(",", "")) == -(-steps // int(x))
