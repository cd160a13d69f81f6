"""Run an emitted AutoGen AgentChat program with a fake model client answering from the world.

Usage: python autogen_fake.py PROGRAM.py VIEW.json INPUT.json. Prints the result, the calls
per op the runner counted, the number of ``create`` calls the fake client served and the
nodes and edges of the runner's ``GraphFlow`` graph.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections import Counter
from typing import Any

from autogen_core.models import CreateResult, RequestUsage
from autogen_ext.models.replay import ReplayChatCompletionClient

sys.path.insert(0, __file__.rsplit("/", 1)[0])
import world


class WorldClient(ReplayChatCompletionClient):
    """AutoGen's replay client, answering from ``world`` by prompt and input instead of by
    call order (parallel agents reach it in any order)."""

    def __init__(self, ops_by_prompt: dict[str, str]) -> None:
        super().__init__([])
        self.ops_by_prompt = ops_by_prompt
        self.served: Counter = Counter()

    async def create(self, messages, **kwargs: Any) -> CreateResult:
        op = self.ops_by_prompt[messages[0].content]
        text = messages[-1].content
        nth = self.served[(op, text)]
        self.served[(op, text)] += 1
        out = world.answer(op, text, nth)
        usage = RequestUsage(prompt_tokens=1, completion_tokens=len(out.split()))
        return CreateResult(finish_reason="stop", content=out, usage=usage, cached=False)


def main() -> None:
    module, view, task_input = world.load_run(sys.argv)
    client = WorldClient({op["system"]: name for name, op in view["ops"].items()})
    runner_class = next(v for k, v in vars(module).items() if k.endswith("Plan"))

    async def go():
        runner = runner_class(client)
        return await runner.run(task_input), runner

    result, runner = asyncio.run(go())
    starts = sum(client.served.values())
    # the GraphFlow's graph as AutoGen builds it: its nodes and each node's edges
    nodes = runner.graph().model_dump()["nodes"]
    graph = {name: [edge["target"] for edge in node["edges"]] for name, node in nodes.items()}
    out = {"result": result, "calls": dict(runner.calls), "starts": starts, "graph": graph}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
