"""An emitted DSPy module is an ordinary DSPy program: optimizers see and change it.

Usage: python dspy_optimize.py PROGRAM.py VIEW.json INPUT.json. Compiles the module with
``dspy.LabeledFewShot`` (demos from the fake world's right answers), then runs it with the
world's ``DummyLM``; prints the predictors DSPy found, the demos each got, whether the demos
reached the prompts, and the result. Then changes the module as an instruction optimizer
would (every predictor's instructions rewritten, its demos replaced) and runs it again.
"""

from __future__ import annotations

import json
import sys

import dspy
from dspy.utils.dummies import DummyLM

sys.path.insert(0, __file__.rsplit("/", 1)[0])
import world
from dspy_fake import WorldEngine, squash


def main() -> None:
    module, view, task_input = world.load_run(sys.argv, checks=False)
    plan = next(v for k, v in vars(module).items() if k.endswith("Plan"))()
    request = {"x": 4, "chunk": 0, "items": "1777"}
    text = json.dumps(request)
    demo = dspy.Example(task_input=text, answer=world.right_answer("count", request))
    optimized = dspy.LabeledFewShot(k=1).compile(plan, trainset=[demo.with_inputs("task_input")])
    lm = DummyLM({})
    lm._engine_spec = WorldEngine(lm, {squash(op["system"]): n for n, op in view["ops"].items()})
    dspy.configure(lm=lm, adapter=dspy.ChatAdapter(use_json_adapter_fallback=False))
    prediction = optimized(task_input=task_input)
    first = lm.history[0]["messages"]
    rewritten = optimized.deepcopy()
    for _, predictor in rewritten.named_predictors():
        # MIPROv2-style: new instructions (the prompt kept, so the fake world knows the op)
        text = predictor.signature.instructions + " Think step by step, then answer."
        predictor.signature = predictor.signature.with_instructions(text)
        predictor.demos = [demo, demo]
    lm._engine_spec.asked.clear()  # the world answers the same samples as in the first run
    again = rewritten(task_input=task_input)
    last = lm.history[-1]["messages"]
    print(
        json.dumps(
            {
                "predictors": [name for name, _ in optimized.named_predictors()],
                "demos": [len(p.demos) for _, p in optimized.named_predictors()],
                "demo_in_prompt": any("1777" in str(m.get("content")) for m in first),
                "result": prediction.answer,
                "calls": prediction.calls,
                "rewritten_in_prompt": "Think step by step" in str(last[0].get("content")),
                "rewritten_result": again.answer,
                "rewritten_calls": again.calls,
                "starts": len(lm.history),
            }
        )
    )


if __name__ == "__main__":
    main()
