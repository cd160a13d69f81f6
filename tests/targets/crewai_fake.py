"""Run an emitted CrewAI program with a fake LLM answering from the world.

Usage: python crewai_fake.py PROGRAM.py VIEW.json INPUT.json. Prints the result, the calls
per op the flow counted, and the number of calls the fake LLM served.

The fake is a ``crewai.llms.base_llm.BaseLLM`` reading what a served model would: the op from
its prompt inside the system message, the request (the JSON object after ``Current Task:``)
from the user message. Asked for a structured answer (``response_model``), it answers the
model's JSON, as an endpoint with structured outputs does.
"""

from __future__ import annotations

import asyncio
import json
import sys
import threading
from collections import Counter
from typing import Any

from crewai.llms.base_llm import BaseLLM

sys.path.insert(0, __file__.rsplit("/", 1)[0])
import world


def request_text(content: str) -> str:
    """The request's exact text: the JSON object the task description starts with."""
    start = content.index("{", content.index("Current Task:"))
    _, end = json.JSONDecoder().raw_decode(content, start)
    return content[start:end]


def squash(text: str) -> str:
    return " ".join(text.split())


class WorldLLM(BaseLLM):
    """Answers from ``world`` by prompt and request (calls arrive from threads, any order)."""

    ops_by_prompt: dict[str, str]
    served: Any = None
    lock: Any = None

    def call(self, messages, tools=None, callbacks=None, available_functions=None,
             from_task=None, from_agent=None, response_model=None) -> str:  # fmt: skip
        system = squash(next(m["content"] for m in messages if m["role"] == "system"))
        # CrewAI lays the goal out its own way (a prompt's trailing newline is gone)
        ops = [name for prompt, name in self.ops_by_prompt.items() if squash(prompt) in system]
        if len(ops) != 1:
            raise LookupError(f"the system message names {len(ops)} ops: {system[:200]!r}")
        op = ops[0]
        text = request_text(messages[-1]["content"])
        with self.lock:
            nth = self.served[(op, text)]
            self.served[(op, text)] += 1
        out = world.answer(op, text, nth)
        return json.dumps({"answer": out}) if response_model is not None else out

    async def acall(self, messages, **kwargs: Any) -> str:
        return self.call(messages, **kwargs)


def main() -> None:
    module, view, task_input = world.load_run(sys.argv)
    prompts = {op["system"]: name for name, op in view["ops"].items()}
    llm = WorldLLM(model="world", ops_by_prompt=prompts, served=Counter(), lock=threading.Lock())
    flow_class = next(v for k, v in vars(module).items() if k.endswith("Plan"))
    flow = flow_class(llm)
    result = asyncio.run(flow.run(task_input))
    starts = sum(llm.served.values())
    print(json.dumps({"result": result, "calls": dict(flow.calls), "starts": starts}))


if __name__ == "__main__":
    main()
