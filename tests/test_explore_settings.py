"""The explorer answers a bad setting or a bad plan with a clear message, never a raw
exception string: through the API functions, and over HTTP."""

from __future__ import annotations

import json

import pytest
from aalp.explore import api
from aalp.explore.controls import SettingsError, settings_from_json, settings_to_json
from conftest import SAMPLES
from test_explore_api_server import request, server, spec_copy  # noqa: F401  (fixtures)

HANOI_FILE = str(SAMPLES / "hanoi.aalp")
HANOI = (SAMPLES / "hanoi.aalp").read_text(encoding="utf-8")
PLAN = {"move.x": 1, "move.model": "gpt41mini", "move.vote": "ahead_by", "move.votes": 3}


@pytest.mark.parametrize(
    "decisions, says",
    [
        ({**PLAN, "move.x": 0}, "'move.x' is 0; it must be a whole number of at least 1"),
        ({**PLAN, "move.votes": -1}, "'move.votes' is -1; it must be a whole number of at least 1"),
    ],
)
def test_a_bad_plan_is_a_decision_diagnostic(decisions, says) -> None:
    answer = api.plan_for(HANOI, HANOI_FILE, None, decisions)
    assert answer["ok"] is False
    (diag,) = [d for d in answer["diagnostics"] if d["severity"] == "error"]
    assert diag["code"] == "E602" and says in diag["message"]


def test_a_plan_on_a_model_the_spec_does_not_have_is_refused() -> None:
    answer = api.plan_for(HANOI, HANOI_FILE, None, {**PLAN, "move.model": "gpt41mni"})
    assert answer["ok"] is False and "tree" not in answer
    messages = " ".join(d["message"] for d in answer["diagnostics"])
    assert "decision 'move.model' = 'gpt41mni': no such model" in messages
    assert "did you mean 'gpt41mini'?" in messages


@pytest.mark.parametrize(
    "pins, says",
    [
        ({"move.x": "0"}, "is 0; x must be a whole number of at least 1"),
        ({"move.x": "(("}, "is not a formula"),
        ({"move.model": "nope"}, "unknown model 'nope'"),
    ],
)
def test_a_bad_pin_names_its_control(pins, says) -> None:
    settings = settings_from_json({"pins": pins})
    answer = api.check_spec(HANOI, HANOI_FILE, settings)
    (diag,) = [d for d in answer["diagnostics"] if d["severity"] == "error"]
    (key,) = pins
    assert diag["setting"] == {"kind": "pin", "key": key} and says in diag["message"]
    assert diag["line"] == 0 and diag["rendered"].startswith(f"error[{diag['code']}]: the pin")


def test_the_settings_take_the_command_line_names() -> None:
    new = settings_from_json({"defines": {"disks": "8"}, "success_target": 0.9})
    old = settings_from_json({"params": {"disks": "8"}, "target": 0.9})
    assert new == old and dict(new.params) == {"disks": "8"} and new.target == 0.9
    assert settings_from_json(settings_to_json(new)) == new
    for bad, says in [
        ({"defines": {}, "params": {}}, "not both"),
        ({"pinz": {}}, "unknown setting 'pinz'"),
    ]:
        with pytest.raises(SettingsError, match=says):
            settings_from_json(bad)


def test_the_server_answers_bad_settings_and_plans_clearly(server) -> None:  # noqa: F811
    status, _, body = request(server, "/api/optimize", {"settings": {"pinz": {"move.x": "1"}}})
    assert status == 400 and "unknown setting 'pinz'" in json.loads(body)["error"]
    status, _, body = request(server, "/api/plan", {"decisions": {**PLAN, "move.x": 0}})
    answer = json.loads(body)
    assert status == 200 and answer["ok"] is False
    messages = " ".join(d["message"] for d in answer["diagnostics"])
    assert "at least 1" in messages and "internal error" not in messages
    assert "Fraction" not in messages
