"""Run an emitted LangGraph program through LangGraph with a fake chat model.

Usage: python langgraph_fake.py PROGRAM.py VIEW.json INPUT.json. Prints the result, the calls
per op the program counted, and the chat-model starts a LangChain callback counted.
"""

from __future__ import annotations

import asyncio
import json
import sys
import threading
from collections import Counter
from typing import Any

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage
from langchain_core.outputs import ChatGeneration, ChatResult

sys.path.insert(0, __file__.rsplit("/", 1)[0])
import world


class WorldChatModel(BaseChatModel):
    """Answers from ``world``: the op from the system prompt, the input from the user turn."""

    ops_by_prompt: dict[str, str]
    asked: Counter = Counter()  # noqa: RUF012
    lock: Any = threading.Lock()
    turns: list[int] = []  # noqa: RUF012  (messages per call: a full history grows)

    @property
    def _llm_type(self) -> str:
        return "world"

    def _generate(self, messages, stop=None, run_manager=None, **kwargs) -> ChatResult:
        op = self.ops_by_prompt[messages[0].content]
        text = messages[-1].content
        with self.lock:
            nth = self.asked[(op, text)]
            self.asked[(op, text)] += 1
            self.turns.append(len(messages))
        out = world.answer(op, text, nth)
        usage = {"input_tokens": 1, "output_tokens": len(out.split()), "total_tokens": 1}
        message = AIMessage(content=out, usage_metadata=usage)
        return ChatResult(generations=[ChatGeneration(message=message)])


class Starts(BaseCallbackHandler):
    def __init__(self) -> None:
        self.count = 0
        self.lock = threading.Lock()

    def on_chat_model_start(self, *args: Any, **kwargs: Any) -> None:
        with self.lock:
            self.count += 1


def main() -> None:
    module, view, task_input = world.load_run(sys.argv)
    llm = WorldChatModel(ops_by_prompt={op["system"]: n for n, op in view["ops"].items()})
    starts = Starts()
    graph = module.build_graph(llm)
    config = {
        "max_concurrency": module.MAX_CONCURRENCY,
        "recursion_limit": module.RECURSION_LIMIT,
        "callbacks": [starts],
    }
    start = {"data": task_input, "value": None, "calls": {}, "failed": []}
    state = asyncio.run(graph.ainvoke(start, config))
    out = {"result": state["value"], "calls": state["calls"], "starts": starts.count}
    print(json.dumps({**out, "max_messages": max(llm.turns)}))


if __name__ == "__main__":
    main()
