"""Run an emitted OpenAI Agents SDK program with a fake ``Model`` answering from the world.

Usage: python agents_fake.py PROGRAM.py VIEW.json INPUT.json. Prints the result, the calls
per op the runner counted, the number of ``get_response`` calls the fake model served and
the output schemas the agents asked it for.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections import Counter

from agents import Model, ModelProvider, ModelResponse, Usage
from openai.types.responses import ResponseOutputMessage, ResponseOutputText

sys.path.insert(0, __file__.rsplit("/", 1)[0])
import world


class WorldModel(Model):
    """Answers from ``world``: the op from the instructions, the input from the user turn."""

    def __init__(self, ops_by_prompt: dict[str, str], served: Counter, schemas: set) -> None:
        self.ops_by_prompt = ops_by_prompt
        self.served = served
        self.schemas = schemas

    async def get_response(self, system_instructions, input, *args, **kwargs) -> ModelResponse:
        # the SDK passes (settings, tools, output_schema, ...) by position or by name
        output_schema = args[2] if len(args) > 2 else kwargs.get("output_schema")
        op = self.ops_by_prompt[system_instructions]
        text = input if isinstance(input, str) else input[-1]["content"]
        nth = self.served[(op, text)]
        self.served[(op, text)] += 1
        out = world.answer(op, text, nth)
        if output_schema is not None and not output_schema.is_plain_text():
            # a structured output: the schema's one string field holds the answer's text
            self.schemas.add(json.dumps(output_schema.json_schema(), sort_keys=True))
            (field,) = output_schema.json_schema()["properties"]
            reply = json.dumps({field: out})
        else:
            reply = out
        message = ResponseOutputMessage(
            id="msg",
            type="message",
            role="assistant",
            status="completed",
            content=[ResponseOutputText(type="output_text", text=reply, annotations=[])],
        )
        usage = Usage(
            requests=1,
            input_tokens=1,
            output_tokens=len(out.split()),
            total_tokens=1 + len(out.split()),
        )
        return ModelResponse(output=[message], usage=usage, response_id=None)

    def stream_response(self, *args, **kwargs):
        raise NotImplementedError


class WorldProvider(ModelProvider):
    def __init__(self, ops_by_prompt: dict[str, str]) -> None:
        self.served: Counter = Counter()
        self.schemas: set[str] = set()  # the output schemas the agents asked for
        self.models: list[str] = []
        self.ops_by_prompt = ops_by_prompt

    def get_model(self, model_name):
        self.models.append(model_name)
        return WorldModel(self.ops_by_prompt, self.served, self.schemas)


def main() -> None:
    module, view, task_input = world.load_run(sys.argv)
    provider = WorldProvider({op["system"]: name for name, op in view["ops"].items()})
    runner_class = next(v for k, v in vars(module).items() if k.endswith("Plan"))

    async def go():
        runner = runner_class(provider)
        return await runner.run(task_input), runner

    result, runner = asyncio.run(go())
    print(
        json.dumps(
            {
                "result": result,
                "calls": dict(runner.calls),
                "starts": sum(provider.served.values()),
                "schemas": [json.loads(s) for s in sorted(provider.schemas)],
            }
        )
    )


if __name__ == "__main__":
    main()
