"""Run an emitted DSPy program through DSPy with ``DummyLM`` answering from the fake world.

Usage: python dspy_fake.py PROGRAM.py VIEW.json INPUT.json. Prints the result, the calls per
op the module counted, and the number of LM calls in ``DummyLM.history``.
"""

from __future__ import annotations

import json
import re
import sys
import threading
from collections import Counter

import dspy
from dspy.clients.engines.dummy_engine import DummyEngine
from dspy.utils.dummies import DummyLM

sys.path.insert(0, __file__.rsplit("/", 1)[0])
import world

INPUT = re.compile(r"\[\[ ## task_input ## \]\]\n(.*?)\n\nRespond with", re.DOTALL)


def squash(text: str) -> str:
    return " ".join(text.split())


class WorldEngine(DummyEngine):
    """DummyLM's engine, answering from ``world`` instead of a fixed script."""

    def __init__(self, owner, ops_by_prompt):
        super().__init__(owner)
        self.ops_by_prompt = ops_by_prompt
        self.asked: Counter = Counter()
        self.lock = threading.Lock()

    def _complete_messages(self, messages):
        system = squash(messages[0]["content"])
        op = next(name for prompt, name in self.ops_by_prompt.items() if prompt in system)
        text = INPUT.search(messages[-1]["content"]).group(1)
        with self.lock:  # the scripted answer goes through DummyLM's own formatting
            nth = self.asked[(op, text)]
            self.asked[(op, text)] += 1
            self.owner.answers = {"": {"answer": world.answer(op, text, nth)}}
            return super()._complete_messages(messages)


def main() -> None:
    module, view, task_input = world.load_run(sys.argv)
    lm = DummyLM({})
    prompts = {squash(op["system"]): name for name, op in view["ops"].items()}
    lm._engine_spec = WorldEngine(lm, prompts)
    dspy.configure(lm=lm, adapter=dspy.ChatAdapter(use_json_adapter_fallback=False))
    plan = next(v for k, v in vars(module).items() if k.endswith("Plan"))()
    prediction = plan(task_input=task_input)
    print(
        json.dumps(
            {"result": prediction.answer, "calls": prediction.calls, "starts": len(lm.history)}
        )
    )


if __name__ == "__main__":
    main()
