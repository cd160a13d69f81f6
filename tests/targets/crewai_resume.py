"""An emitted CrewAI program killed mid-run and resumed from CrewAI's own flow persistence.

Usage: python crewai_resume.py PROGRAM.py VIEW.json INPUT.json STATES.sqlite

Runs the flow with ``SQLiteFlowPersistence(STATES.sqlite)`` on the thread ``t1``, with an
always-right fake LLM whose process dies (``os._exit(17)``: no cleanup) at the call numbered
by ``AALP_KILL_AT``, if set. Prints one JSON line: the result, the run's calls per op, and
the calls this process made.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import threading
from typing import Any

from crewai.flow.persistence import SQLiteFlowPersistence
from crewai.llms.base_llm import BaseLLM

sys.path.insert(0, __file__.rsplit("/", 1)[0])
import world
from crewai_fake import request_text, squash


class Dying(BaseLLM):
    """Right answers from ``world``; the process dies at call ``kill_at``."""

    ops_by_prompt: dict[str, str]
    kill_at: int = 0
    made: int = 0
    lock: Any = None

    def call(self, messages, *args: Any, response_model=None, **kwargs: Any) -> str:
        with self.lock:
            self.made += 1
            if self.kill_at and self.made >= self.kill_at:
                os._exit(17)  # a killed run: no cleanup, no flush
        system = squash(next(m["content"] for m in messages if m["role"] == "system"))
        op = next(n for p, n in self.ops_by_prompt.items() if squash(p) in system)
        out = world.right_answer(op, json.loads(request_text(messages[-1]["content"])))
        return json.dumps({"answer": out}) if response_model is not None else out


def main() -> None:
    module, view, task_input = world.load_run(sys.argv)
    llm = Dying(
        model="world",
        ops_by_prompt={op["system"]: name for name, op in view["ops"].items()},
        kill_at=int(os.environ.get("AALP_KILL_AT", "0")),
        lock=threading.Lock(),
    )
    flow_class = next(v for k, v in vars(module).items() if k.endswith("Plan"))
    flow = flow_class(llm, persistence=SQLiteFlowPersistence(sys.argv[4]))
    result = asyncio.run(flow.run(task_input, "t1"))
    print(json.dumps({"result": result, "calls": dict(flow.calls), "made": llm.made}))


if __name__ == "__main__":
    main()
