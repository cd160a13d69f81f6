"""Task debugging of debugging.aalp, compiled by aalp for openai-agents.

Prediction of the cost model for one run:
  success: 0.970382
  cost (model size x tokens): 1.46295e+06
  dollars: 0.00342
  tokens: 3600
  forward passes: 1100
  latency (forward passes): 1100
  calls: 10 expected, 99.9% within [10, 10]
    check: 5
    fix: 5

Decisions:
  check.history = stateless
  check.model = qa
  check.vote = none
  check.x = 1
  fix.model = developer
  fix.vote = none
  fix.x = 1

Assumptions:
  errors are independent across calls
  the last chunk of a stage is costed as a full chunk
  latency of a parallel map is one chunk's expected latency
"""

from __future__ import annotations

import argparse
import asyncio
import heapq
import json
import math
import os
import sys
from collections import Counter
from collections.abc import Mapping
from typing import Any

from agents import (
    Agent,
    Model,
    ModelProvider,
    ModelSettings,
    OpenAIChatCompletionsModel,
    RunConfig,
    Runner,
    set_tracing_disabled,
)

# ---------------------------------------------------------------------------------------------
# The plan: every decision the optimizer made, as data.
# ---------------------------------------------------------------------------------------------

# One entry per op: the system prompt, the plan's model, the answer format, red flags and booster.
OPS: dict[str, dict[str, Any]] = {
                                     'check': {
                                         'system': (
                                             'The user message holds functions with their '
                                             'specifications. Find one function whose\ncode does '
                                             'not meet its specification. Answer with a JSON '
                                             'object and nothing else:\n{"function": "<name>", '
                                             '"bug": "<one sentence>"}, or {"function": null} if '
                                             'all are right.'
                                         ),
                                         'model': 'qa',
                                         'answer': 'json',
                                         'max_writes': None,
                                         'unparsable': False,
                                         'vote': 'none',
                                         'votes': None,
                                         'retries': None,
                                     },
                                     'fix': {
                                         'system': (
                                             'The user message holds a bug report and functions '
                                             'with their specifications. Fix the\nbug. Answer '
                                             'with a JSON object and nothing else: {"code": "<all '
                                             'the functions you were\ngiven, rewritten>"}'
                                         ),
                                         'model': 'developer',
                                         'answer': 'json',
                                         'max_writes': None,
                                         'unparsable': False,
                                         'vote': 'none',
                                         'votes': None,
                                         'retries': None,
                                     },
                                 }

# The plan's model names; ``--model-map NAME=SERVED`` renames them for an endpoint.
MODELS: tuple[str, ...] = ('developer', 'qa')

# How the task's data is cut into chunks, stage by stage.
STAGES: dict[str, dict[str, Any]] = {
                                        's0': {
                                            'over': 'bugs',
                                            'data': 'steps',
                                            'count': 5,
                                            'x': 1,
                                            'stride': 1,
                                            'chunks': 5,
                                        },
                                    }

# A router's answer -> the model that handles the routed op (the plan's model when absent).
ROUTES: dict[str, str] = {}

# Exact checks of ``retry ... until exact``: op -> check(input, answer) -> bool. Supply your own.
CHECKS: dict[str, Any] = {}

MAX_CONCURRENCY = 16

# The op each phase node samples.
PHASES: dict[str, str] = {'s0_check': 'check', 's0_fix': 'fix'}

# Expected calls per op, from the cost model (the run's report holds its counts against them).
PREDICTED_CALLS: dict[str, float] = {'check': 5.0, 'fix': 5.0}

# Every round of samples is two graph steps; a long chain needs many.
RECURSION_LIMIT = 10**9

# ---------------------------------------------------------------------------------------------
# Answers, red flags and vote arithmetic: plain functions, shared by every node below.
# ---------------------------------------------------------------------------------------------


def render_input(request: dict[str, Any]) -> str:
    """The user message of one call: its request as JSON."""
    return json.dumps(request, ensure_ascii=False)


def served(model: str, route: Any, available: Any) -> str:
    """The model a call runs on: ``MODEL:LABEL`` when a router's label has its own model."""
    label = f"{model}:{route}"
    return label if route is not None and label in available else model


def parse_answer(answer_format: str, text: str) -> Any:
    """The answer in ``text`` in the op's format; ``ValueError`` when it is unparsable."""
    body = text.strip()
    if body.startswith("```"):
        # a fenced block: drop the fence and its language tag
        body = body.strip("`").removeprefix("json").strip()
    if answer_format == "json":
        return json.loads(body)
    if answer_format == "number":
        number = float(body.replace(",", ""))
        return int(number) if number.is_integer() else number
    if answer_format == "list":
        items = json.loads(body)
        if not isinstance(items, list):
            raise ValueError("not a list")
        return items
    if not body:
        raise ValueError("empty answer")
    return body


def answer_key(answer: Any) -> str:
    """Votes compare answers by their canonical JSON, so equal answers count together."""
    return json.dumps(answer, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def judge(op: str, text: str, output_tokens: int) -> tuple[bool, Any]:
    """``(kept, answer)``: a red-flagged sample is discarded and drawn again, never a vote."""
    spec = OPS[op]
    if spec["max_writes"] is not None and output_tokens > spec["max_writes"]:
        return False, None
    try:
        return True, parse_answer(spec["answer"], text)
    except ValueError:
        if spec["unparsable"]:
            return False, None
        return True, text.strip()


def samples_needed(op: str, counts: list[int], tries: int, passed: bool) -> int:
    """How many more samples one decision needs now; 0 once it is decided.

    First-to-ahead-by-k draws ``k - lead`` samples at once: the most that cannot overshoot
    either boundary, so batching changes the time a vote takes, never its outcome.
    """
    spec = OPS[op]
    ranked = [*sorted(counts, reverse=True), 0, 0]
    if spec["vote"] == "ahead_by":
        lead = ranked[0] - ranked[1]
        return max(0, spec["votes"] - lead)
    if spec["vote"] == "majority":
        return max(0, spec["votes"] - sum(counts))
    if spec["retries"] is not None:
        exhausted = spec["retries"] != "inf" and tries >= spec["retries"]
        return 0 if passed or exhausted else 1
    return 0 if counts else 1


def check(op: str, request: dict[str, Any], answer: Any) -> bool:
    """The exact check of ``op`` on one answer (``CHECKS``; a missing one stops the run)."""
    checker = CHECKS.get(op)
    if checker is None:
        raise RuntimeError(
            f"op {op!r} retries until an exact check passes: set CHECKS[{op!r}] to a function "
            "check(request, answer) -> bool"
        )
    return bool(checker(request, answer))


def winner(tally: dict[str, int]) -> str:
    """The answer with the most votes (ties, impossible under ahead-by-k, go to the smallest)."""
    return min(tally, key=lambda key: (-tally[key], key))


def new_decision(value: Any, model: str, history: list[Any] | None = None) -> dict[str, Any]:
    """A decision not yet sampled: its input and the model that answers it."""
    return {
        "input": value,
        "model": model,
        "tally": {},
        "answers": {},
        "tries": 0,
        "passed": False,
        "history": history or [],
        "flagged": 0,
    }


# A decision whose every sample is red-flagged would resample forever: stop it, loudly.
FLAGGED_IN_A_ROW = 100


def discard(op: str, decision: dict[str, Any]) -> None:
    """Count a red-flagged sample of ``decision``; too many since its last kept one mean the
    op's answers never pass its red flags (too long or unparsable), so the run stops."""
    decision["flagged"] += 1
    if decision["flagged"] >= FLAGGED_IN_A_ROW:
        raise RuntimeError(
            f"op {op!r}: {FLAGGED_IN_A_ROW} samples in a row were red-flagged (too long or "
            "unparsable); the plan cannot finish"
        )

# ---------------------------------------------------------------------------------------------
# Requests: the JSON object every call sends as its user message (the same protocol as the
# python target, so the simulated server answers every target alike).
# ---------------------------------------------------------------------------------------------


def stage_input(data: Any, over: str, value: Any) -> Any:
    """A stage reads its data from the task input when the input names it, else the value the
    previous stage produced."""
    return data.get(over, value) if isinstance(data, dict) else value


def windows(units: Any, x: int, stride: float) -> list[Any]:
    """Chunks of ``x`` units advancing by ``stride`` (overlapping when stride < x)."""
    if len(units) == 0:
        return []
    count = 1 + math.ceil(max(0, len(units) - x) / stride)
    return [units[int(j * stride) : int(j * stride) + x] for j in range(count)]


def map_requests(units: Any, stage: dict[str, Any]) -> list[dict[str, Any]]:
    """One request per chunk of a map stage."""
    chunks = windows(units, stage["x"], stage["stride"])
    return [{"x": len(chunk), "chunk": c, "items": chunk} for c, chunk in enumerate(chunks)]


def chain_request(stage: dict[str, Any], step: int, previous: Any, items: Any) -> dict[str, Any]:
    """The request of step ``step`` of a chain: the previous answer and its own units."""
    first = step * stage["x"]
    size = min(stage["x"], stage["count"] - first)
    request = {"x": size, "step": first, "steps": stage["count"], "previous": previous}
    if items is not None:
        request["items"] = items[first : first + size]
    return request


def reduce_requests(values: list[Any], stage: dict[str, Any], level: int) -> list[dict[str, Any]]:
    """The requests of one level (1, 2, ...) of a reduce tree: ``fanin`` children each."""
    fanin = stage["fanin"]
    x = stage["levels"][level - 1] if level <= len(stage["levels"]) else None
    groups = [values[i : i + fanin] for i in range(0, len(values), fanin)]
    return [
        {"x": x, "level": level, "node": i, "children": group} for i, group in enumerate(groups)
    ]


def _numbers(values: list[Any]) -> list[Any]:
    return [v for v in values if isinstance(v, int | float) and not isinstance(v, bool)]


COMBINE = {
    "sum": lambda values: sum(_numbers(values)),
    "concat": lambda values: [
        item for part in values for item in (part if isinstance(part, list) else [part])
    ],
    "merge": lambda values: list(heapq.merge(*[p for p in values if isinstance(p, list)])),
    "max": lambda values: max(_numbers(values), default=None),
    "min": lambda values: min(_numbers(values), default=None),
    "vote": lambda values: Counter(answer_key(v) for v in values).most_common(1)[0][0],
    "first": lambda values: values[0] if values else None,
}


def build_agents() -> dict[str, Agent]:
    """One agent per op: its prompt as instructions, its plan model by name (a run's
    ``ModelProvider`` resolves the name), temperature 1.0 so votes are independent samples."""
    return {
        op: Agent(
            name=op,
            instructions=spec["system"],
            model=spec["model"],
            model_settings=ModelSettings(temperature=1.0),
        )
        for op, spec in OPS.items()
    }


class DebuggingPlan:
    """Runs the plan with the Agents SDK ``Runner``: every LLM call is one agent run.

    ``provider`` resolves the plan's model names (``MODELS``) to models; ``main`` uses
    ``OpenAIChatCompletionsModel`` over an ``AsyncOpenAI`` client.
    """

    def __init__(
        self, provider: ModelProvider, max_concurrency: int = 0, routes: tuple[str, ...] = ()
    ) -> None:
        self.agents = build_agents()
        self.models = set(routes)  # MODEL:LABEL names the provider serves for routed labels
        self.run_config = RunConfig(model_provider=provider, tracing_disabled=True)
        self.gate = asyncio.Semaphore(max_concurrency or MAX_CONCURRENCY)
        self.calls: Counter[str] = Counter()
        self.failed: list[str] = []

    async def sample(self, op: str, decision: dict[str, Any]) -> tuple[bool, Any]:
        """One call: the op's agent (on the decision's model) run on the decision's input."""
        agent = self.agents[op]
        if decision["model"] != agent.model:
            agent = agent.clone(model=decision["model"])  # a router chose the model
        async with self.gate:
            self.calls[op] += 1
            result = await Runner.run(
                agent, render_input(decision["input"]), run_config=self.run_config
            )
        usage = result.context_wrapper.usage
        text = str(result.final_output)
        return judge(op, text, usage.output_tokens or len(text.split()))

    async def decide(self, op: str, inputs: list[Any], models: list[str]) -> list[Any]:
        """Decisions of ``op`` on ``inputs``, side by side: each round runs, concurrently, the
        samples every undecided decision still needs."""
        pairs = zip(inputs, models, strict=True)
        decisions = [new_decision(value, model) for value, model in pairs]
        while True:
            jobs = []
            for decision in decisions:
                tally = list(decision["tally"].values())
                need = samples_needed(op, tally, decision["tries"], decision["passed"])
                jobs += [decision] * need
            if not jobs:
                break
            results = await asyncio.gather(*(self.sample(op, decision) for decision in jobs))
            for decision, (kept, answer) in zip(jobs, results, strict=True):
                decision["tries"] += 1
                if not kept:
                    discard(op, decision)
                    continue  # red-flagged: discarded and drawn again
                decision["flagged"] = 0
                key = answer_key(answer)
                decision["tally"][key] = decision["tally"].get(key, 0) + 1
                decision["answers"][key] = answer
                if OPS[op]["retries"] is not None:
                    decision["passed"] = check(op, decision["input"], answer)
        out = []
        for number, decision in enumerate(decisions):
            if OPS[op]["retries"] is not None and not decision["passed"]:
                self.failed.append(f"{op}#{number}")
            out.append(decision["answers"][winner(decision["tally"])])
        return out

    async def run(self, task_input: Any) -> Any:
        """Run every stage in order and return the task's result."""
        data, value = task_input, None

        # stage 0: chain check, fix over bugs: 5 chunks of x = 1, one after another, history
        # stateless
        stage = STAGES['s0']
        units = stage_input(data, stage["over"], value)
        items = None if stage["data"] == "steps" else units
        previous = units if stage["data"] == "steps" else None
        count = stage["count"] if items is None else len(items)
        for step in range(math.ceil(count / stage["x"])):
            request = chain_request({**stage, "count": count}, step, previous, items)
            previous = (await self.decide('check', [request], ['qa']))[0]
            request = chain_request({**stage, "count": count}, step, previous, items)
            previous = (await self.decide('fix', [request], ['developer']))[0]
        value = previous
        return value


class EndpointProvider(ModelProvider):
    """Resolves a plan model name to ``OpenAIChatCompletionsModel`` on one endpoint (the
    Responses API default is not what most OpenAI-compatible servers speak)."""

    def __init__(self, base_url: str, api_key: str, model_map: Mapping[str, str]) -> None:
        from openai import AsyncOpenAI

        # a retried call would be an unplanned sample
        self.client = AsyncOpenAI(base_url=base_url, api_key=api_key, max_retries=0)
        self.model_map = dict(model_map)

    def get_model(self, model_name: str | None) -> Model:
        name = model_name or MODELS[0]
        return OpenAIChatCompletionsModel(self.model_map.get(name, name), self.client)


def main(argv: list[str] | None = None) -> int:
    """Run the plan against an OpenAI-compatible endpoint and print the result as JSON."""
    args = parse_args(argv)
    set_tracing_disabled(True)  # traces would be exported to a remote service
    provider = EndpointProvider(args.base_url, args.api_key, args.model_map)

    async def go() -> tuple[Any, DebuggingPlan]:
        routes = tuple(name for name in args.model_map if ":" in name)
        runner = DebuggingPlan(provider, routes=routes)
        return await runner.run(read_input(args.input)), runner

    value, runner = asyncio.run(go())
    report(value, runner.calls, runner.failed)
    return 1 if runner.failed else 0


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Endpoint, key, model names and input from flags or the environment."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--input", help="the task input as a JSON file (default: none)")
    parser.add_argument(
        "--base-url", default=os.environ.get("OPENAI_BASE_URL", "http://127.0.0.1:8000/v1")
    )
    parser.add_argument("--api-key", default=os.environ.get("OPENAI_API_KEY", "dummy"))
    parser.add_argument(
        "--model-map",
        action="append",
        default=[],
        metavar="NAME=SERVED",
        help="serve the plan's model NAME under another name",
    )
    args = parser.parse_args(argv)
    args.model_map = dict(item.split("=", 1) for item in args.model_map)
    return args


def read_input(path: str | None) -> Any:
    """The task input: a JSON file, or none for tasks without data."""
    if path is None:
        return None
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def report(value: Any, calls: Mapping[str, int], failed: list[str]) -> None:
    """The result on stdout; calls per op against the prediction on stderr."""
    print(json.dumps({"result": value, "calls": dict(sorted(calls.items()))}, sort_keys=True))
    for op, count in sorted(calls.items()):
        print(f"{op}: {count} calls (predicted {PREDICTED_CALLS.get(op, 0):.6g})", file=sys.stderr)
    if failed:
        print(f"{len(failed)} decisions failed their checks", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
