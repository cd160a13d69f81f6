"""The Agents SDK program routes by handoffs where that is exact, and in code elsewhere.

A classifier sampled once with no booster becomes an ``Agent`` with a handoff per label that
has its own model (``--model-map specialist:math=...``): its one call is answered by
``aalp serve-sim`` with the ``transfer_to_<label>`` tool call, and ``Runner.run`` runs the
routed agent on the plan's request alone. The calls per op are the plan's, the server saw the
transfer chosen, and the routed call's request is the plan's (no classifier turn in it). With
a vote on the classifier the program routes in code, as before.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
from aalp.api import compile as emit
from aalp.backends.base import write
from aalp.backends.view import float_env
from aalp.checks.loader import load
from aalp.sim.core import SimCore
from aalp.sim.oracles import family_of, oracle
from aalp.sim.oracles.routing import KINDS
from aalp.sim.server import SimServer
from conftest import TELEMETRY_OFF
from targets_env import venv_python

ROOT = Path(__file__).resolve().parent.parent
#: the input's and the server's seed: every sampled answer of this run is right
SEED = 7
TARGET = "openai-agents"
#: a reliable plan whose classifier is sampled once: its route is a handoff
EXACT = {
    "classify.model": "delegator",
    "classify.vote": "none",
    "solve.model": "specialist",
    "solve.vote": "none",
}
#: the classifier voted: a handoff would act on its first sample, so the route stays in code
VOTED = {**EXACT, "classify.vote": "majority", "classify.votes": 3}
#: one model per label, so each label has its routed agent (served by the one specialist)
ROUTES = [arg for kind in KINDS for arg in ("--model-map", f"specialist:{kind}=specialist")]


class Recording(SimCore):
    """The simulated LLM, keeping every chat-completion body it answered."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.bodies: list[tuple[str | None, dict[str, Any], dict[str, Any]]] = []

    def complete(self, body: dict[str, Any], key: str | None) -> dict[str, Any]:
        response = super().complete(body, key)
        with self.lock:
            self.bodies.append((key, body, response))
        return response


def _run(
    decisions: dict[str, Any], tmp_path: Path, routes: list[str] = ROUTES
) -> tuple[Any, Recording, dict, Any]:
    python = venv_python(TARGET)
    checked = load(ROOT / "samples" / "routing.aalp", {"queries": "8"})
    compiled = emit(checked, TARGET, decisions=decisions)
    program = write(compiled.files, str(tmp_path))[0]
    task = compiled.resolved.task
    env = float_env(checked.env)
    family = oracle(family_of(task))
    data = family.make_input(task, env, SEED)
    (tmp_path / "input.json").write_text(json.dumps(data))
    core = Recording(checked, seed=SEED)
    with SimServer(core) as server:
        args = [program, "--input", str(tmp_path / "input.json"), "--base-url", server.url]
        run = subprocess.run(
            [python, *args, *routes],
            capture_output=True,
            text=True,
            env={**os.environ, **TELEMETRY_OFF},
            cwd=tmp_path,
            timeout=600,
            check=False,
        )
    assert run.returncode == 0, run.stderr[-3000:]
    out = json.loads(run.stdout.strip().splitlines()[-1])
    assert out["result"] == family.expected(task, env, data)
    assert out["calls"] == core.stats()["by_op"]  # every call served is one the program counted
    return compiled, core, out, Path(program).read_text(encoding="utf-8")


def _transfers(body: dict[str, Any]) -> list[str]:
    return [t["function"]["name"] for t in body.get("tools") or []]


def test_exact_route_is_a_handoff(tmp_path: Path) -> None:
    compiled, core, out, source = _run(EXACT, tmp_path)
    assert "HANDOFFS: dict[str, str] = {'classify': 'solve'}" in source
    assert out["calls"] == compiled.view["prediction"]["calls_by_op"] == {"classify": 8, "solve": 8}
    classifier = [(k, b, r) for k, b, r in core.bodies if k and k.startswith("classify@")]
    routed = [(k, b, r) for k, b, r in core.bodies if k and k.startswith("solve@")]
    assert len(classifier) == len(routed) == 8
    for _, body, response in classifier:  # the transfer tools offered, one chosen
        assert sorted(_transfers(body)) == sorted(f"transfer_to_{k}" for k in KINDS)
        (choice,) = response["choices"]
        assert choice["finish_reason"] == "tool_calls"
        (call,) = choice["message"]["tool_calls"]
        assert call["function"]["name"] in _transfers(body)
    by_item = {k.partition("@")[2].partition("/")[2].partition("#")[0]: b for k, b, _ in classifier}
    for key, body, _ in routed:  # the routed agent reads the plan's request, nothing else
        assert key.endswith("#0")
        assert [m["role"] for m in body["messages"]] == ["system", "user"]
        assert not body.get("tools")
        request = json.loads(body["messages"][-1]["content"])
        item = by_item[key.partition("/")[2].partition("#")[0]]
        asked = json.loads(item["messages"][-1]["content"])
        assert request == {**asked, "route": request["route"]}
        assert request["route"] in KINDS
    # the same calls, by the same keys, as the program routing in code (no model per label,
    # so no handoff offered): the same answers
    _, coded, coded_out, _ = _run(EXACT, tmp_path / "in-code", routes=[])
    assert not any(_transfers(body) for _, body, _ in coded.bodies)
    assert (coded_out["result"], coded_out["calls"]) == (out["result"], out["calls"])
    assert sorted(coded.stats()["keys"]) == sorted(core.stats()["keys"])


def test_boosted_classifier_routes_in_code(tmp_path: Path) -> None:
    compiled, core, out, source = _run(VOTED, tmp_path)
    assert "classify -> solve stays routed in code" in source
    assert "HANDOFFS: dict[str, str] = {}" in source
    assert out["calls"]["solve"] == 8
    assert not any(_transfers(body) for _, body, _ in core.bodies)  # no handoff offered
    low, high = compiled.view["prediction"]["calls_interval"]
    assert low <= sum(out["calls"].values()) <= high


def test_sim_answers_a_transfer_tool_call() -> None:
    """The classifier's answer, by its key, as the offered transfer tool's call; the same
    label and usage as without the tools; an answer naming no offered tool stays text."""
    from aalp.plan.prompts import system_prompt
    from aalp.sim.handoffs import label_of

    checked = load(ROOT / "samples" / "routing.aalp", {"queries": "8"})
    core = SimCore(checked, seed=SEED)
    op = core.task.op("classify")
    request = {"id": 0, "kind": "code", "text": "x"}
    body = {
        "model": "delegator",
        "messages": [
            {"role": "system", "content": system_prompt(op, core.task, ROOT / "samples")},
            {"role": "user", "content": json.dumps(request)},
        ],
    }
    plain = core.complete(body, "classify@1/0#0")
    label = label_of(plain["choices"][0]["message"]["content"])
    tools = [{"type": "function", "function": {"name": f"transfer_to_{k}"}} for k in KINDS]
    handed = core.complete({**body, "tools": tools}, "classify@1/0#0")
    (choice,) = handed["choices"]
    assert choice["finish_reason"] == "tool_calls"
    (call,) = choice["message"]["tool_calls"]
    assert call["type"] == "function"
    assert call["function"] == {"name": f"transfer_to_{label}", "arguments": "{}"}
    assert handed["usage"] == plain["usage"]
    others = [t for t in tools if t["function"]["name"] != f"transfer_to_{label}"]
    unchanged = core.complete({**body, "tools": others}, "classify@1/0#0")
    assert (
        unchanged["choices"][0]["message"]["content"] == plain["choices"][0]["message"]["content"]
    )


if __name__ == "__main__":
    raise SystemExit(pytest.main([__file__]))
