"""Task sorting of sorting.aalp, compiled by aalp for langgraph.

Prediction of the cost model for one run:
  success: 0.920811
  cost (model size x tokens): 2.54205e+07
  dollars: 0.00696
  tokens: 19400
  forward passes: 9000
  latency (forward passes): 5250
  calls: 7 expected, 99.9% within [7, 7]
    merge: 3
    sort: 4

Decisions:
  merge.model = gpt4omini
  merge.vote = none
  sort.model = gpt4omini
  sort.vote = none
  sort.x = 250

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
import operator
import os
import sys
from collections import Counter
from collections.abc import Mapping
from typing import Annotated, Any, TypedDict

from langchain_core.language_models.chat_models import BaseChatModel
from langgraph.graph import StateGraph
from langgraph.types import Send

# ---------------------------------------------------------------------------------------------
# The plan: every decision the optimizer made, as data.
# ---------------------------------------------------------------------------------------------

# One entry per op: the system prompt, the plan's model, the answer format, red flags and booster.
OPS: dict[str, dict[str, Any]] = {
                                     'merge': {
                                         'system': (
                                             'The user message is a JSON list of sorted JSON '
                                             'lists of numbers. Merge them into one\nlist in '
                                             'ascending order. Answer with that JSON list and '
                                             'nothing else, for example:\n[1, 2, 3, 5, 8]'
                                         ),
                                         'model': 'gpt4omini',
                                         'answer': 'list',
                                         'max_writes': None,
                                         'unparsable': False,
                                         'vote': 'none',
                                         'votes': None,
                                         'retries': None,
                                     },
                                     'sort': {
                                         'system': (
                                             'Sort the numbers in the JSON list in the user '
                                             'message in ascending order.\nAnswer with the sorted '
                                             'JSON list of numbers and nothing else, for example: '
                                             '[1, 4, 9]'
                                         ),
                                         'model': 'gpt4omini',
                                         'answer': 'list',
                                         'max_writes': None,
                                         'unparsable': False,
                                         'vote': 'none',
                                         'votes': None,
                                         'retries': None,
                                     },
                                 }

# The plan's model names; ``--model-map NAME=SERVED`` renames them for an endpoint.
MODELS: tuple[str, ...] = ('gpt4omini',)

# How the task's data is cut into chunks, stage by stage.
STAGES: dict[str, dict[str, Any]] = {
                                        's0': {
                                            'over': 'numbers',
                                            'data': 'items',
                                            'count': 1000,
                                            'x': 250,
                                            'stride': 250,
                                            'chunks': 4,
                                        },
                                        's1': {
                                            'data': 'outputs',
                                            'fanin': 2,
                                            'levels': [500, 1000],
                                        },
                                    }

# A router's answer -> the model that handles the routed op (the plan's model when absent).
ROUTES: dict[str, str] = {}

# Exact checks of ``retry ... until exact``: op -> check(input, answer) -> bool. Supply your own.
CHECKS: dict[str, Any] = {}

MAX_CONCURRENCY = 16

# The op each phase node samples.
PHASES: dict[str, str] = {'s0_sort': 'sort', 's1_merge': 'merge'}

# Expected calls per op, from the cost model (the run's report holds its counts against them).
PREDICTED_CALLS: dict[str, float] = {'merge': 3.0, 'sort': 4.0}

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


# ---------------------------------------------------------------------------------------------
# The graph state. ``votes`` gathers the samples of one round of parallel calls through its
# reducer; the tally node that reads them resets it (a plain ``operator.add`` list would grow
# with every sample of the run, and LangGraph copies it on every step).
# ---------------------------------------------------------------------------------------------

RESET: list[Any] = []


def gather(left: list[Any], right: list[Any]) -> list[Any]:
    """Reducer of ``votes``: append a round's samples; the empty ``RESET`` list clears it."""
    return [] if right is RESET else left + right


def add_counts(left: dict[str, int], right: dict[str, int]) -> dict[str, int]:
    """Reducer of ``calls``: calls per op, summed over parallel branches."""
    return dict(Counter(left) + Counter(right))


class PlanState(TypedDict, total=False):
    value: Any  # what the previous stage produced (the task input before the first stage)
    at: str  # the phase whose decisions are in flight, or the node to go to next
    step: int  # the current chunk of a chain, or the level of a reduce tree
    decisions: dict[str, dict[str, Any]]  # id -> input, model, tally, answers, tries, history
    done: dict[str, Any]  # id -> decided answer, for the current phase
    data: Any  # the task input (a JSON object keyed by data name)
    chain: dict[str, Any]  # the running chain stage: its size and units
    votes: Annotated[list[Any], gather]
    calls: Annotated[dict[str, int], add_counts]
    failed: Annotated[list[str], operator.add]  # decisions whose retries ran out


class Sample(TypedDict):
    id: str
    op: str
    model: str
    input: Any
    history: list[Any]


def fan_out(state: PlanState) -> list[Send] | str:
    """Conditional edge after every tally: ``Send`` the samples still needed, else move on."""
    at = state["at"]
    if at not in PHASES:
        return at
    op = PHASES[at]
    sends = []
    for ident, decision in state["decisions"].items():
        need = samples_needed(
            op, list(decision["tally"].values()), decision["tries"], decision["passed"]
        )
        payload = Sample(
            id=ident,
            op=op,
            model=decision["model"],
            input=decision["input"],
            history=decision["history"],
        )
        sends += [Send(at + "_call", payload) for _ in range(need)]
    return sends


def build_graph(llm: BaseChatModel | Mapping[str, BaseChatModel]):
    """The plan as a compiled LangGraph ``StateGraph``.

    ``llm`` is one chat model for every op, or a mapping from the plan's model names
    (``MODELS``) to chat models. Run it with ``config={"max_concurrency": MAX_CONCURRENCY,
    "recursion_limit": RECURSION_LIMIT}`` from ``{"data": task_input, "value": None}``.
    """

    models = set(llm) if isinstance(llm, Mapping) else set()

    def chat_model(name: str) -> BaseChatModel:
        return llm[name] if models else llm

    async def call(sample: Sample) -> dict[str, Any]:
        """One LLM call: a single sample of one decision."""
        op = sample["op"]
        messages = [
            ("system", OPS[op]["system"]),
            *sample["history"],
            ("user", render_input(sample["input"])),
        ]
        reply = await chat_model(sample["model"]).ainvoke(messages)
        text = reply.content if isinstance(reply.content, str) else str(reply.content)
        usage = getattr(reply, "usage_metadata", None) or {}
        kept, answer = judge(op, text, usage.get("output_tokens", len(text.split())))
        return {"votes": [(sample["id"], kept, answer, text)], "calls": {op: 1}}

    def tally(phase: str, advance):
        """The node closing one round of samples of ``phase``; ``advance`` runs when all are in."""
        op = PHASES[phase]

        def node(state: PlanState) -> dict[str, Any]:
            decisions = {ident: dict(d) for ident, d in state["decisions"].items()}
            for ident, kept, answer, text in state["votes"]:
                decision = decisions[ident]
                decision["tries"] += 1
                if not kept:
                    discard(op, decision)
                    continue  # red-flagged: not a vote, drawn again
                decision["flagged"] = 0
                key = answer_key(answer)
                decision["tally"] = {**decision["tally"], key: decision["tally"].get(key, 0) + 1}
                decision["answers"] = {**decision["answers"], key: (answer, text)}
                if OPS[op]["retries"] is not None:
                    decision["passed"] = check(op, decision["input"], answer)
            update: dict[str, Any] = {"votes": RESET, "decisions": decisions}
            pending = any(
                samples_needed(op, list(d["tally"].values()), d["tries"], d["passed"])
                for d in decisions.values()
            )
            if pending:
                return update
            done = {}
            failed = []
            for ident, decision in decisions.items():
                answer, text = decision["answers"][winner(decision["tally"])]
                done[ident] = answer
                if OPS[op]["retries"] is not None and not decision["passed"]:
                    failed.append(ident)
                decision["text"] = text
            return {**update, **advance(state, decisions, done), "failed": failed}

        return node

    builder = StateGraph(PlanState)

    # stage 0: map sort over numbers: 4 chunks of x = 250 in parallel
    def start_s0(state: PlanState) -> dict[str, Any]:
        stage = STAGES['s0']
        requests = map_requests(stage_input(state["data"], stage["over"], state["value"]), stage)
        if not requests:
            return {"value": [], "at": 's1'}
        decisions = {
            str(i): new_decision(request, 'gpt4omini')
            for i, request in enumerate(requests)
        }
        return {"decisions": decisions, "at": 's0_sort'}

    builder.add_node('s0', start_s0)
    builder.add_conditional_edges('s0', fan_out)

    def advance_s0_sort(state: PlanState, decisions, done) -> dict[str, Any]:
        return {"value": [done[str(i)] for i in range(len(done))], "at": 's1'}

    builder.add_node('s0_sort_call', call)
    builder.add_node('s0_sort', tally('s0_sort', advance_s0_sort))
    builder.add_edge('s0_sort_call', 's0_sort')
    builder.add_conditional_edges('s0_sort', fan_out)

    # stage 1: reduce merge: a tree of fan-in 2
    def start_s1(state: PlanState) -> dict[str, Any]:
        stage = STAGES['s1']
        values = list(state["value"])
        if len(values) <= 1:
            return {"value": values[0] if values else None, "at": '__end__'}
        requests = reduce_requests(values, stage, 1)
        decisions = {
            str(i): new_decision(request, 'gpt4omini')
            for i, request in enumerate(requests)
        }
        return {"step": 1, "decisions": decisions, "at": 's1_merge'}

    builder.add_node('s1', start_s1)
    builder.add_conditional_edges('s1', fan_out)

    def advance_s1_merge(state: PlanState, decisions, done) -> dict[str, Any]:
        values = [done[str(i)] for i in range(len(done))]
        if len(values) == 1:
            return {"value": values[0], "at": '__end__'}
        level = state["step"] + 1
        requests = reduce_requests(values, STAGES['s1'], level)
        following = {
            str(i): new_decision(request, 'gpt4omini')
            for i, request in enumerate(requests)
        }
        return {"step": level, "decisions": following, "at": 's1_merge'}

    builder.add_node('s1_merge_call', call)
    builder.add_node('s1_merge', tally('s1_merge', advance_s1_merge))
    builder.add_edge('s1_merge_call', 's1_merge')
    builder.add_conditional_edges('s1_merge', fan_out)

    builder.set_entry_point('s0')
    return builder.compile()


async def run(llm: BaseChatModel | Mapping[str, BaseChatModel], task_input: Any) -> dict[str, Any]:
    """Run the plan on ``task_input``; the final state holds ``value`` and ``calls`` per op."""
    graph = build_graph(llm)
    config = {"max_concurrency": MAX_CONCURRENCY, "recursion_limit": RECURSION_LIMIT}
    start = {"data": task_input, "value": None, "calls": {}, "failed": []}
    return await graph.ainvoke(start, config=config)


def main(argv: list[str] | None = None) -> int:
    """Run the plan against an OpenAI-compatible endpoint and print the result as JSON."""
    from langchain_openai import ChatOpenAI

    args = parse_args(argv)
    models = {
        name: ChatOpenAI(
            model=args.model_map.get(name, name),
            base_url=args.base_url,
            api_key=args.api_key,
            max_retries=0,  # a retried call would be an unplanned sample
            temperature=1.0,  # votes need independent samples
        )
        for name in {*MODELS, *args.model_map}  # MODEL:LABEL names a routed label's model
    }
    state = asyncio.run(run(models, read_input(args.input)))
    report(state["value"], state["calls"], state["failed"])
    return 1 if state["failed"] else 0


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
