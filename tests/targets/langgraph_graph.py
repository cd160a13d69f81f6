"""An emitted LangGraph program seen through LangGraph's own tools.

Usage: python langgraph_graph.py MODE PROGRAM.py VIEW.json INPUT.json [ARG]

- ``shape``: the compiled graph's nodes and edges as ``get_graph()`` draws them, and its
  Mermaid text;
- ``concurrency``: a run with a slow fake model; the most calls it saw in flight at once;
- ``resume``: a run checkpointed in the SQLite file ARG by ``langgraph-checkpoint-sqlite``
  whose process dies (``os._exit``) at the call numbered by ``AALP_KILL_AT``, if set.

Prints one JSON line.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from typing import Any

from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage
from langchain_core.outputs import ChatGeneration, ChatResult

sys.path.insert(0, __file__.rsplit("/", 1)[0])
import world


class Slow(BaseChatModel):
    """Always-right answers from ``world`` after a pause, counting calls in flight."""

    ops_by_prompt: dict[str, str]
    state: dict[str, int]
    kill_at: int = 0

    @property
    def _llm_type(self) -> str:
        return "slow-world"

    def _generate(self, *args: Any, **kwargs: Any) -> ChatResult:
        raise NotImplementedError("async only")

    async def _agenerate(self, messages, stop=None, run_manager=None, **kwargs) -> ChatResult:
        self.state["calls"] += 1
        if self.kill_at and self.state["calls"] >= self.kill_at:
            os._exit(17)  # a killed run: no cleanup, no flush
        self.state["now"] += 1
        self.state["peak"] = max(self.state["peak"], self.state["now"])
        await asyncio.sleep(0.01)
        self.state["now"] -= 1
        op = self.ops_by_prompt[messages[0].content]
        out = world.answer(op, messages[-1].content, 0)
        usage = {"input_tokens": 1, "output_tokens": len(out.split()), "total_tokens": 1}
        return ChatResult(
            generations=[ChatGeneration(message=AIMessage(content=out, usage_metadata=usage))]
        )


def model(view: dict[str, Any], kill_at: int = 0) -> Slow:
    prompts = {op["system"]: name for name, op in view["ops"].items()}
    return Slow(ops_by_prompt=prompts, state={"calls": 0, "now": 0, "peak": 0}, kill_at=kill_at)


def shape(module: Any, view: dict[str, Any]) -> dict[str, Any]:
    drawn = module.build_graph(model(view)).get_graph()
    edges = sorted([e.source, e.target, e.conditional] for e in drawn.edges)
    return {"nodes": sorted(drawn.nodes), "edges": edges, "mermaid": drawn.draw_mermaid()}


async def resume(module: Any, view: dict[str, Any], data: Any, path: str) -> dict[str, Any]:
    from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

    llm = model(view, int(os.environ.get("AALP_KILL_AT", "0")))
    async with AsyncSqliteSaver.from_conn_string(path) as saver:
        state = await module.run(llm, data, saver, "t1")
    return {"result": state["value"], "calls": state["calls"], "made": llm.state["calls"]}


def main() -> None:
    mode = sys.argv[1]
    module, view, data = world.load_run(sys.argv[1:5])
    world.RATES.clear()  # every sample right: a run's calls do not depend on who asked first
    if mode == "shape":
        out = shape(module, view)
    elif mode == "concurrency":
        llm = model(view)
        state = asyncio.run(module.run(llm, data))
        out = {"peak": llm.state["peak"], "calls": state["calls"], "bound": module.MAX_CONCURRENCY}
    else:
        out = asyncio.run(resume(module, view, data, sys.argv[5]))
    print(json.dumps(out))


if __name__ == "__main__":
    main()
