"""The simulated LLM's logic, independent of HTTP: one chat-completion request in, one out.

Every random choice is drawn from a generator seeded by the server seed and the call's key
(the ``X-Aalp-Call`` header the emitted programs send; otherwise a hash of the request and
how often it was seen), so a run is reproducible call by call whatever the concurrency.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import threading
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

from aalp import codes
from aalp.diagnostics import AalpError
from aalp.front import ir
from aalp.front.expr import EvalError, evaluate

from .beam import dead_end, scored_tokens, scorer_verdict
from .dspy_format import squash, wrap
from .handoffs import handed_off
from .judge import candidate_tokens, judge_picks
from .oracles import Ask, family_of, oracle
from .structured import field, structured


class SimError(AalpError):
    """A request the simulator cannot answer: ``status`` and a message for the client."""

    code = codes.SIM_REFUSED

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


#: the bodies of a broken HTTP 200 response: none holds an answer
BROKEN = {
    "truncated": b'{"id": "chatcmpl-sim", "object": "chat.completion", "choices": [{"ind',
    "empty_object": b"{}",
    "list": b"[]",
    "no_choices": b'{"object": "chat.completion", "choices": []}',
    "no_content": json.dumps(
        {
            "object": "chat.completion",
            "choices": [{"index": 0, "message": {"role": "assistant"}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
        }
    ).encode("utf-8"),
}


def broken_body(fault: str) -> bytes:
    """The body of the broken 200 response ``fault`` (``"broken:KIND"``) names."""
    return BROKEN[fault.partition(":")[2]]


@dataclass(frozen=True)
class Faults:
    """Faults to inject, each a rate per request (``delay_ms`` is added to every request).

    ``broken_rate`` is the share of requests answered with HTTP 200 and a body that holds no
    answer, of one of ``broken_kinds`` (keys of ``BROKEN``); like an HTTP 500 it is not a call.
    """

    fail_rate: float = 0.0
    delay_ms: float = 0.0
    malformed_rate: float = 0.0
    overlong_rate: float = 0.0
    correlated: bool = False
    broken_rate: float = 0.0
    broken_kinds: tuple[str, ...] = tuple(BROKEN)
    #: the share of units (inputs) on which every sample gives one and the same wrong answer
    stuck_rate: float = 0.0
    #: tokens per second read (prefill) and written (decode): each call takes that long and
    #: reports the two times as llama.cpp's ``timings`` do (0: no delay, no timings)
    prefill_rate: float = 0.0
    decode_rate: float = 0.0
    #: whether a tool call waits for the tool's latency before it answers (aalp.sim.tools)
    tool_latency: bool = False


def _seeded(*parts: object) -> random.Random:
    digest = hashlib.sha256("|".join(map(str, parts)).encode("utf-8")).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def _roles(task: ir.Task) -> dict[str, str]:
    roles: dict[str, str] = {}
    for stage in task.stages:
        match stage:
            case ir.MapStage(ops=ops):
                roles.update(dict.fromkeys(ops, "map"))
            case ir.ChainStage(ops=ops):
                roles.update(dict.fromkeys(ops, "chain"))
            case ir.ReduceStage(op=op):
                roles[op] = "reduce"
            case ir.RouteStage(classifier=cls):
                roles[cls] = "classifier"
    for booster in task.boosters:
        if isinstance(booster, ir.RetryBooster) and booster.check != "exact":
            roles[booster.check] = "verifier"
        if isinstance(booster, ir.VoteBooster) and booster.judge is not None:
            roles[booster.judge] = "judge"
        if isinstance(booster, ir.ExpandBooster):
            roles[booster.scorer] = "scorer"
    return roles


def _node_names(request: dict[str, Any]) -> dict[str, float]:
    """A reduce node's ``fanin`` (the children it merges), ``level`` and ``calls`` (the nodes
    of its level), as the request carries them, for the op's formulas (docs/language.md §2)."""
    children = request.get("children")
    out = {"fanin": float(len(children)) if isinstance(children, list) else 2.0}
    for name in ("level", "calls"):
        value = request.get(name)
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        out[name] = float(value) if ok else 1.0
    return out


def request_x(request: dict[str, Any]) -> float:
    """The ``x`` a request carries (1 when none); ``SimError`` when it is no positive number."""
    x = request.get("x") or 1
    if isinstance(x, bool) or not isinstance(x, int | float) or not 0 < x < math.inf:
        raise SimError(400, "the request's 'x' must be a positive number")
    return float(x)


def to_text(answer: Any, form: str) -> str:
    """How the simulated model writes ``answer`` in answer format ``form``."""
    if form in ("json", "list"):
        return json.dumps(answer, separators=(", ", ": "))
    if isinstance(answer, bool | None) or (form == "text" and not isinstance(answer, str)):
        return json.dumps(answer)
    return str(answer)


def parse_request(content: Any) -> Any:
    """The JSON object of the last user message, or the first ``{...}`` object inside it (a
    framework may wrap the request in its own text, and follow it with a schema)."""
    if not isinstance(content, str):
        raise SimError(400, "the last message must hold the JSON request as text")
    try:
        return json.loads(content)
    except json.JSONDecodeError:
        start = content.find("{")
        while start >= 0:
            try:
                return json.JSONDecoder().raw_decode(content, start)[0]
            except json.JSONDecodeError:
                start = content.find("{", start + 1)
    raise SimError(400, "the last message must hold the JSON request")


class SimCore:
    """Answers chat completions for the ops of one task of a checked spec."""

    def __init__(
        self,
        checked: Any,
        task_name: str | None = None,
        seed: int = 0,
        faults: Faults | None = None,
        family: str | None = None,
        custom: Any = None,
        success: dict[str, ir.Expr] | None = None,
    ):
        """``custom``: an oracle of the user's own (``aalp.sim.oracles.custom.load``), used
        instead of the family's. ``success``: the true success of ops (``"op"``) or of an op
        on one model (``"op@model"``), a formula in x, in place of the spec's."""
        from aalp.front.numbers import float_env
        from aalp.plan.prompts import system_prompt

        spec: ir.Spec = checked.spec
        tasks = [t for t in spec.tasks if task_name is None or t.name == task_name]
        if not tasks:
            raise SimError(400, f"no task named {task_name!r}")
        self.spec = spec
        self.task = tasks[0]
        self.env = float_env(checked.env)
        self.seed = seed
        self.faults = faults or Faults()
        self.family = "custom" if custom is not None else family or family_of(self.task)
        self.oracle = custom if custom is not None else oracle(self.family)
        from aalp.checks.loader import prompt_dir_of

        spec_dir = prompt_dir_of(checked)
        self.by_prompt: dict[str, list[str]] = {}
        for op in self.task.ops:
            self.by_prompt.setdefault(system_prompt(op, self.task, spec_dir), []).append(op.name)
        self.roles = _roles(self.task)
        self.success = dict(success or {})
        self.lock = threading.Lock()
        self.calls: Counter[str] = Counter()
        self.tokens: Counter[str] = Counter()  # the usage the answered calls reported
        self.keys: list[str] = []
        self.faults_injected: Counter[str] = Counter()
        self.seen: Counter[str] = Counter()
        self.attempts: Counter[str] = Counter()

    # -- bookkeeping ---------------------------------------------------------------------------

    def stats(self) -> dict[str, Any]:
        """Calls answered per op, the prompt and completion tokens their usage reported, every
        call key in order, and the faults injected."""
        with self.lock:
            return {
                "calls": sum(self.calls.values()),
                "by_op": dict(sorted(self.calls.items())),
                "tokens": {kind: self.tokens[kind] for kind in ("prompt", "completion")},
                "keys": list(self.keys),
                "faults": dict(sorted(self.faults_injected.items())),
                "family": self.family,
            }

    def reset(self) -> None:
        with self.lock:
            self.calls.clear()
            self.tokens.clear()
            self.keys.clear()
            self.faults_injected.clear()
            self.seen.clear()
            self.attempts.clear()

    def models(self) -> dict[str, Any]:
        """The ``/v1/models`` listing: the spec's models."""
        return {
            "object": "list",
            "data": [
                {"id": m.name, "object": "model", "owned_by": "aalp-sim"} for m in self.spec.models
            ],
        }

    # -- one request ---------------------------------------------------------------------------

    def identify(self, messages: list[dict[str, Any]]) -> str:
        """The op a request is for, from its system prompt."""
        system = next((m.get("content") for m in messages if m.get("role") == "system"), None)
        if not isinstance(system, str):
            system = ""
        names = self.by_prompt.get(system, [])
        if not names and isinstance(system, str):
            # a framework may wrap the op's prompt in its own instructions: the longest
            # prompt of the spec found inside the system message names the op
            inside = [p for p in self.by_prompt if p.strip() and squash(p) in squash(system)]
            if inside:
                names = self.by_prompt[max(inside, key=len)]
        if len(names) == 1:
            return names[0]
        if len(names) > 1:
            raise SimError(400, f"the system prompt is shared by ops {names}: ambiguous")
        known = ", ".join(sorted(n for ns in self.by_prompt.values() for n in ns))
        raise SimError(400, f"no op of task {self.task.name!r} has this system prompt ({known})")

    def fault(self, key: str) -> str | None:
        """``"fail"`` when this attempt of the call must get an HTTP 500, ``"broken:KIND"``
        when it must get a broken 200 (``broken_body``), else None."""
        with self.lock:
            self.attempts[key] += 1
            attempt = self.attempts[key]
        if self.faults.fail_rate and _seeded(self.seed, "fail", key, attempt).random() < (
            self.faults.fail_rate
        ):
            with self.lock:
                self.faults_injected["http_500"] += 1
            return "fail"
        rng = _seeded(self.seed, "broken", key, attempt)
        if self.faults.broken_rate and rng.random() < self.faults.broken_rate:
            kind = rng.choice(self.faults.broken_kinds)
            with self.lock:
                self.faults_injected["broken_response"] += 1
            return "broken:" + kind
        return None

    def complete(self, body: dict[str, Any], key: str | None) -> dict[str, Any]:
        """Answer one ``/v1/chat/completions`` body (faults aside)."""
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            raise SimError(400, "'messages' must be a non-empty list")
        if not all(isinstance(m, dict) and isinstance(m.get("role"), str) for m in messages):
            raise SimError(400, "every message must be an object with a 'role'")
        try:
            schema_field = field(body.get("response_format"))  # before it counts as a call
        except ValueError as err:
            raise SimError(400, str(err)) from None
        model_name = body.get("model")
        try:
            model = self.spec.model(str(model_name))
        except StopIteration:
            names = ", ".join(m.name for m in self.spec.models)
            raise SimError(404, f"no model {model_name!r}; served: {names}") from None
        name = self.identify(messages)
        op = self.task.op(name)
        request = parse_request(messages[-1].get("content"))
        if not isinstance(request, dict):
            raise SimError(400, "the request must be a JSON object")
        if key is None:
            raw = json.dumps(body, sort_keys=True)
            with self.lock:
                self.seen[raw] += 1
                key = f"{hashlib.sha256(raw.encode()).hexdigest()[:16]}:{self.seen[raw]}"
        with self.lock:
            self.calls[name] += 1
            self.keys.append(key)
        response = self._answer(op, model, request, messages, key, body.get("max_tokens"))
        with self.lock:
            self.tokens["prompt"] += response["usage"]["prompt_tokens"]
            self.tokens["completion"] += response["usage"]["completion_tokens"]
        # a transfer tool's call when the answer names an offered handoff (aalp.sim.handoffs);
        # else in DSPy's [[ ## field ## ]] format, or as a structured output, when asked so
        response = handed_off(body, response, key)
        return structured(schema_field, wrap(messages, response))

    def _at(self, expr: ir.Expr, x: float, node: dict[str, float] | None = None) -> float:
        try:
            return evaluate(expr, {**self.env, **(node or {}), "x": x})
        except EvalError as err:
            raise SimError(500, f"cannot evaluate a formula at x={x}: {err}") from None

    def _answer(
        self,
        op: ir.Op,
        model: ir.Model,
        request: dict[str, Any],
        messages: list[dict[str, Any]],
        key: str,
        max_tokens: Any,
    ) -> dict[str, Any]:
        x = request_x(request)
        node = _node_names(request) if self.roles.get(op.name) == "reduce" else None
        input_id = hashlib.sha256(json.dumps(request, sort_keys=True).encode("utf-8")).hexdigest()
        a = self._success_of(op, model.name, x, node, input_id)
        rng = _seeded(self.seed, "call", key)
        ask = Ask(op.name, self.roles.get(op.name, "other"), request, self.task, self.env)
        verdict = (
            self._verdict(op, request)
            if ask.role == "verifier"
            else scorer_verdict(self, op, request, to_text)
            if ask.role == "scorer"
            else None
        )
        picks = judge_picks(self, op, request, to_text) if ask.role == "judge" else None
        try:
            right = verdict if verdict is not None else self.oracle.answer(ask) if not picks else 0
        except Exception as err:  # the user's oracle failed: the client gets why, in one line
            raise SimError(
                500, f"the {self.family} oracle failed on op {op.name!r}: {err!r}"
            ) from None
        draw = rng.random()
        misrouted = getattr(self.oracle, "misrouted", None)
        if (misrouted is not None and misrouted(ask)) or dead_end(self, op, request, to_text):
            a = 0.0  # a specialist given another's task, or a step after a wrong one
        answer = (  # a judge right w.p. a picks a right candidate
            (picks[0] if draw < a else picks[1])
            if picks
            else self._pick(op, ask, right, draw, a, x, input_id, rng, node, verdict)
        )
        text = to_text(answer, op.answer)
        writes = max(1, round(self._at(op.writes, x, node)))
        text, writes = self._red_flag(op, text, writes, x, rng, node)
        reads = round(self._at(op.reads, x, node)) + self._history_tokens(op, messages)
        reads += candidate_tokens(self, op, request, x) if ask.role == "judge" else 0
        reads += scored_tokens(self, op, x) if ask.role == "scorer" else 0
        finish = "stop"
        if isinstance(max_tokens, int) and 0 < max_tokens < writes:
            text = text[: max(1, len(text) * max_tokens // writes)]
            writes, finish = max_tokens, "length"
        timings = self._take_time(reads, writes)
        return {
            **timings,
            "id": "chatcmpl-sim-" + hashlib.sha256(key.encode()).hexdigest()[:24],
            "object": "chat.completion",
            "created": 0,
            "model": model.name,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": text},
                    "finish_reason": finish,
                }
            ],
            "usage": {
                "prompt_tokens": reads,
                "completion_tokens": writes,
                "total_tokens": reads + writes,
            },
        }

    def _success_of(
        self, op: ir.Op, model: str, x: float, node: dict[str, float] | None, input_id: str
    ) -> float:
        """One sample's success for this input on ``model`` (a model's or a tool's name): its
        mixture component's (every sample of one input shares its component, docs/model.md
        §2), a calibrated rate when given."""
        outcomes = op.success
        for override in op.success_on:
            if override.model == model:
                outcomes = override.outcomes
        given = self.success.get(f"{op.name}@{model}", self.success.get(op.name))
        if given is not None:
            outcomes = (ir.Outcome(ir.Num(1), given),)
        pick = _seeded(self.seed, "mixture", op.name, input_id).random()
        a = 0.0
        for outcome in outcomes:
            weight = self._at(outcome.weight, x, node)
            a = self._at(outcome.p, x, node)
            if pick < weight:
                break
            pick -= weight
        return a

    def _verdict(self, op: ir.Op, request: dict[str, Any]) -> str | None:
        """The right verdict of a verifier on ``{"request", "answer"}`` (the emitted programs'
        check of a retry): accept when the answer is the checked op's right one. None for a
        request of another shape, or a user's oracle (it answers its verifiers itself)."""
        if self.family == "custom" or not {"request", "answer"} <= set(request):
            return None
        checked = next(
            (
                o
                for b in self.task.boosters
                if isinstance(b, ir.RetryBooster) and b.check == op.name
                for o in (b.ops or [x.name for x in self.task.ops if x.name != op.name])
            ),
            None,
        )
        inner = request["request"]
        if checked is None or not isinstance(inner, dict):
            return None
        gen = self.task.op(checked)
        ask = Ask(gen.name, self.roles.get(gen.name, "other"), inner, self.task, self.env)
        right = self.oracle.answer(ask)
        same = to_text(request["answer"], gen.answer) == to_text(right, gen.answer)
        return "accept" if same or request["answer"] == right else "reject"

    def _pick(
        self,
        op: ir.Op,
        ask: Ask,
        right: Any,
        draw: float,
        a: float,
        x: float,
        input_id: str,
        rng: random.Random,
        node: dict[str, float] | None = None,
        verdict: str | None = None,
    ) -> Any:
        """The answer of one sample: right w.p. ``a``; the unit's rival (the same wrong answer
        for every sample of the input) w.p. the op's rival; another wrong answer otherwise.
        A stuck unit (``stuck_rate``) gives one and the same wrong answer every time. A
        verifier's (``verdict``, its right one) wrong verdict is the other one; ``node``: a
        reduce node's names for the op's formulas."""
        correlated = self.faults.correlated or getattr(self.oracle, "CORRELATED", False)
        rival = None if op.rival is None else self._at(op.rival, x, node)
        stuck = self.faults.stuck_rate and (
            _seeded(self.seed, "stuck", op.name, input_id).random() < self.faults.stuck_rate
        )
        if stuck:  # this unit's every sample gives the same wrong answer
            answer = self.oracle.wrong(ask, right, _seeded(self.seed, "stuck-answer", input_id))
        elif draw < a:
            answer = right
        elif verdict is not None:
            answer = "reject" if verdict == "accept" else "accept"
        elif correlated or (rival is not None and draw < a + rival):
            answer = self.oracle.wrong(ask, right, _seeded(self.seed, "rival", op.name, input_id))
        else:
            answer = self.oracle.wrong(ask, right, rng)
        return answer

    def _take_time(self, reads: int, writes: int) -> dict[str, Any]:
        """Wait as long as reading ``reads`` and writing ``writes`` tokens takes at the
        prefill and decode rates; the two times as llama.cpp reports them (none: no rates)."""
        prefill = reads / self.faults.prefill_rate if self.faults.prefill_rate else 0.0
        decode = writes / self.faults.decode_rate if self.faults.decode_rate else 0.0
        if not prefill and not decode:
            return {}
        time.sleep(prefill + decode)
        return {"timings": {"prompt_ms": prefill * 1000.0, "predicted_ms": decode * 1000.0}}

    def _red_flag(
        self,
        op: ir.Op,
        text: str,
        writes: int,
        x: float,
        rng: random.Random,
        node: dict[str, float] | None = None,
    ) -> tuple[str, int]:
        """Spoil the response as often as the spec's ``keep`` and the fault rates say."""
        flag = op.red_flag
        keep = 1.0 if flag is None or flag.keep is None else self._at(flag.keep, x, node)
        limit = None
        if flag is not None and flag.max_writes is not None:
            limit = math.ceil(self._at(flag.max_writes, x, node))
        malformed = rng.random() < self.faults.malformed_rate
        overlong = rng.random() < self.faults.overlong_rate
        if rng.random() >= keep:  # the spec's own red-flag rate: whichever flag the op has
            if flag is not None and flag.unparsable:
                malformed = True
            elif limit is not None:
                overlong = True
        if malformed:
            with self.lock:
                self.faults_injected["malformed"] += 1
            # unparsable in every answer format but text (a choice is a single line)
            text = "Sorry, I lost track.\n{" + text[: len(text) // 2]
        if overlong:
            with self.lock:
                self.faults_injected["overlong"] += 1
            bound = limit if limit is not None else writes * 4
            writes = bound + 1 + rng.randint(0, 50)
            text = text + " " * 200  # still parsable: only its length is wrong
        return text, writes

    def _history_tokens(self, op: ir.Op, messages: list[dict[str, Any]]) -> int:
        """Tokens of the earlier turns of a conversation, as the spec counts them."""
        total = 0
        for message in messages[1:-1]:
            if message.get("role") != "user":
                continue
            try:
                earlier = json.loads(message.get("content") or "{}")
                x = float(earlier.get("x") or 1)
            except (json.JSONDecodeError, AttributeError, TypeError, ValueError):
                x = 1.0
            total += round(self._at(op.reads, x) + self._at(op.writes, x))
        return total
