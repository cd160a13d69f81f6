"""Run an emitted DSPy module under DSPy's usage tracking against an OpenAI-compatible server.

Usage: python dspy_usage.py PROGRAM.py BASE_URL INPUT.json. Configures
``dspy.configure(track_usage=True)``, runs the plan module as a user's program would and prints
one JSON line: the result, the calls per op and ``prediction.get_lm_usage()``.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import dspy


def main() -> None:
    path, base_url = sys.argv[1], sys.argv[2]
    data = json.loads(Path(sys.argv[3]).read_text())
    spec = importlib.util.spec_from_file_location("program", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    lms = {
        name: dspy.LM(
            "openai/" + name, api_base=base_url, api_key="dummy", cache=False, num_retries=0
        )
        for name in module.MODELS
    }
    adapter = dspy.ChatAdapter(use_json_adapter_fallback=False)
    dspy.configure(lm=lms[module.MODELS[0]], adapter=adapter, track_usage=True)
    plan = next(v for k, v in vars(module).items() if k.endswith("Plan"))(lms)
    prediction = plan(task_input=data)
    out = {"result": prediction.answer, "calls": prediction.calls}
    print(json.dumps({**out, "usage": prediction.get_lm_usage()}))


if __name__ == "__main__":
    main()
