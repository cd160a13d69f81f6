"""Run the runtime table's cases through one target's emitted programs (stdlib + that target).

Usage: python runtime_table.py TARGET CASES.json. Prints one JSON object: what each case gave.

Every run goes through the program's own call path with a scripted model (the python
target's client, a LangChain chat model (answering a structured output's schema as an
endpoint with structured outputs does), DSPy's dummy LM engine, an Agents SDK ``Model``,
AutoGen's replay client, a CrewAI ``BaseLLM``):
the script sees each call's request and answers with the case's text, so the program reads
that text exactly as it would read a real model's. ``direct`` cases call the program's
runtime functions (``combine``, ``windows``, ``winner``, ``plurality``) by name.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
import re
import sys
import tempfile
import threading
from collections import Counter
from collections.abc import Callable
from types import ModuleType, SimpleNamespace
from typing import Any

#: ``script(request, nth) -> text``: the answer to the ``nth`` ask (0-based) of ``request``
Script = Callable[[dict[str, Any], int], str]


class Asked:
    """Counts the asks of each request (parallel calls may arrive in any order)."""

    def __init__(self, script: Script) -> None:
        self.script = script
        self.counts: Counter[str] = Counter()
        self.lock = threading.Lock()

    def answer(self, message: str) -> str:
        with self.lock:
            nth = self.counts[message]
            self.counts[message] += 1
        return self.script(json.loads(message), nth)


def load(path: str) -> ModuleType:
    """The emitted program at ``path`` as a module of its own (registered, so the type hints
    a framework resolves are found); a framework program's runtime module beside it is
    importable."""
    folder = os.path.dirname(os.path.abspath(path))
    if folder not in sys.path:
        sys.path.insert(0, folder)
    name = "program_" + re.sub(r"\W", "_", os.path.basename(path)[:-3])
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    if hasattr(runtime(module), "TRANSPORT"):  # a response without an answer: retried at once
        runtime(module).TRANSPORT["backoff"] = 0.0
    return module


def runtime(module: ModuleType) -> ModuleType:
    """Where the program's runtime lives: its own module (python), else the runtime module
    it imports (the framework targets)."""
    return getattr(module, "runtime", module)


# --- one run of a plan, per target: {"result", "calls", "retried"} ---------------------------


def run_python(module: ModuleType, task_input: Any, asked: Asked) -> dict[str, Any]:
    async def create(**kwargs: Any) -> Any:
        text = asked.answer(kwargs["messages"][-1]["content"])
        usage = SimpleNamespace(prompt_tokens=1, completion_tokens=len(text.split()))
        choice = SimpleNamespace(message=SimpleNamespace(content=text), finish_reason="stop")
        return SimpleNamespace(choices=[choice], usage=usage)

    client = SimpleNamespace(chat=SimpleNamespace(completions=SimpleNamespace(create=create)))
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump(task_input, handle)
    flags = ["--input", handle.name, "--journal", "-", "--progress", "off", "--backoff", "0"]
    try:
        result, report = asyncio.run(module.run_plan(module.parse_args(flags), client))
    finally:
        os.unlink(handle.name)
    retried = report["malformed_responses"] + report["transport_errors"]
    return {"result": result, "calls": report["calls"], "retried": retried}


def run_langgraph(module: ModuleType, task_input: Any, asked: Asked) -> dict[str, Any]:
    from langchain_core.language_models.chat_models import BaseChatModel
    from langchain_core.messages import AIMessage
    from langchain_core.outputs import ChatGeneration, ChatResult

    class Scripted(BaseChatModel):
        @property
        def _llm_type(self) -> str:
            return "scripted"

        def _generate(self, messages, stop=None, run_manager=None, **kwargs) -> ChatResult:
            text = asked.answer(messages[-1].content)
            usage = {"input_tokens": 1, "output_tokens": len(text.split()), "total_tokens": 1}
            message = AIMessage(content=text, usage_metadata=usage)
            return ChatResult(generations=[ChatGeneration(message=message)])

        def with_structured_output(self, schema, *, include_raw=False, **kwargs):
            """As ``ChatOpenAI``'s ``json_schema`` method against an endpoint with structured
            outputs (serve-sim's): the reply is the schema's one field holding the text's JSON
            value when it is of the field's type, else the text."""
            from langchain_core.runnables import RunnableLambda

            ((name, field),) = schema["schema"]["properties"].items()
            kinds = {"number": (int, float), "array": (list,), "string": (str,)}[field["type"]]

            def answer(messages):
                reply = self.invoke(messages)
                try:
                    value = json.loads(reply.content)
                except ValueError:
                    value = reply.content
                if isinstance(value, bool) or not isinstance(value, kinds):
                    value = reply.content
                content = json.dumps({name: value}, ensure_ascii=False)
                raw = AIMessage(content=content, usage_metadata=reply.usage_metadata)
                return {"raw": raw, "parsed": None, "parsing_error": None}

            return RunnableLambda(answer)

    state = asyncio.run(module.run(Scripted(), task_input))
    calls = sum(state["calls"].values())
    return {"result": state["value"], "calls": calls, "retried": state["transport_errors"]}


def run_dspy(module: ModuleType, task_input: Any, asked: Asked) -> dict[str, Any]:
    import dspy
    from dspy.clients.engines.dummy_engine import DummyEngine
    from dspy.lm15 import Message, Response, TextPart, Usage
    from dspy.utils.dummies import DummyLM

    pattern = re.compile(r"\[\[ ## task_input ## \]\]\n(.*?)\n\nRespond with", re.DOTALL)

    class Scripted(DummyEngine):
        """Answers in DSPy's field format, as a server speaking it (serve-sim) does."""

        def _complete_messages(self, messages):
            text = asked.answer(pattern.search(messages[-1]["content"]).group(1))
            output = f"[[ ## answer ## ]]\n{text}\n\n[[ ## completed ## ]]"
            usage = Usage(input_tokens=0, output_tokens=0, total_tokens=0)
            message = Message.assistant([TextPart(output)])
            return Response(
                id=None, model="dummy", message=message, finish_reason="stop", usage=usage
            )

    lm = DummyLM({})
    lm._engine_spec = Scripted(lm)
    dspy.configure(lm=lm, adapter=dspy.ChatAdapter(use_json_adapter_fallback=False))
    plan = next(v for k, v in vars(module).items() if k.endswith("Plan"))()
    prediction = plan(task_input=task_input)
    calls = sum(prediction.calls.values())
    return {"result": prediction.answer, "calls": calls, "retried": prediction.transport_errors}


def run_agents(module: ModuleType, task_input: Any, asked: Asked) -> dict[str, Any]:
    from agents import Model, ModelProvider, ModelResponse, Usage
    from openai.types.responses import ResponseOutputMessage, ResponseOutputText

    class Scripted(Model):
        async def get_response(self, system_instructions, input, *args, **kwargs):
            text = asked.answer(input if isinstance(input, str) else input[-1]["content"])
            schema = kwargs.get("output_schema")
            # a structured output, as an endpoint honouring the schema sends it
            reply = json.dumps({"answer": text}) if schema and not schema.is_plain_text() else text
            content = [ResponseOutputText(type="output_text", text=reply, annotations=[])]
            message = ResponseOutputMessage(
                id="msg", type="message", role="assistant", status="completed", content=content
            )
            words = len(text.split())
            usage = Usage(requests=1, input_tokens=1, output_tokens=words, total_tokens=1 + words)
            return ModelResponse(output=[message], usage=usage, response_id=None)

        def stream_response(self, *args, **kwargs):
            raise NotImplementedError

    class Provider(ModelProvider):
        def get_model(self, model_name):
            return Scripted()

    runner = next(v for k, v in vars(module).items() if k.endswith("Plan"))(Provider())
    result = asyncio.run(runner.run(task_input))
    calls = sum(runner.calls.values())
    return {"result": result, "calls": calls, "retried": runner.transport_errors}


def run_autogen(module: ModuleType, task_input: Any, asked: Asked) -> dict[str, Any]:
    from autogen_core.models import CreateResult, RequestUsage
    from autogen_ext.models.replay import ReplayChatCompletionClient

    class Scripted(ReplayChatCompletionClient):
        async def create(self, messages, **kwargs: Any) -> CreateResult:
            text = asked.answer(messages[-1].content)
            usage = RequestUsage(prompt_tokens=1, completion_tokens=len(text.split()))
            return CreateResult(finish_reason="stop", content=text, usage=usage, cached=False)

    runner = next(v for k, v in vars(module).items() if k.endswith("Plan"))(Scripted([]))
    result = asyncio.run(runner.run(task_input))
    calls = sum(runner.calls.values())
    return {"result": result, "calls": calls, "retried": runner.transport_errors}


def run_crewai(module: ModuleType, task_input: Any, asked: Asked) -> dict[str, Any]:
    from crewai.llms.base_llm import BaseLLM

    class Scripted(BaseLLM):
        """Answers the request after ``Current Task:`` with the case's text, inside the
        answer model's JSON as an endpoint with structured outputs does."""

        def call(self, messages, *args: Any, response_model=None, **kwargs: Any) -> str:
            content = messages[-1]["content"]
            start = content.index("{", content.index("Current Task:"))
            _, end = json.JSONDecoder().raw_decode(content, start)
            text = asked.answer(content[start:end])
            return json.dumps({"answer": text}) if response_model is not None else text

    flow = next(v for k, v in vars(module).items() if k.endswith("Plan"))(Scripted(model="s"))
    result = asyncio.run(flow.run(task_input))
    calls = sum(flow.calls.values())
    return {"result": result, "calls": calls, "retried": flow.transport_errors}


RUNS = {
    "python": run_python,
    "langgraph": run_langgraph,
    "dspy": run_dspy,
    "openai-agents": run_agents,
    "autogen": run_autogen,
    "crewai": run_crewai,
}


def attempt(run: Callable[[], Any]) -> dict[str, Any]:
    """``{"ok": value}``, or ``{"error": message}`` when the program stopped with an error."""
    try:
        return {"ok": run()}
    except Exception as err:  # a CombineError, a stop after too many red flags
        return {"error": f"{type(err).__name__}: {err}"}


# --- the cases -------------------------------------------------------------------------------


def readings(target: str, program: str, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each row's text as the first sample of a one-call plan; a red-flagged or unanswered
    first sample is followed by the row's sentinel (a valid answer), so the run ends."""
    module = load(program)
    (op,) = module.OPS
    out = []
    for row in rows:
        module.OPS[op].update(answer=row["form"], needs=row["need"], max_writes=row["limit"])

        def script(request: dict[str, Any], nth: int, row: dict[str, Any] = row) -> str:
            return row["text"] if nth == 0 else row["sentinel"]

        got = attempt(lambda: RUNS[target](module, {"units": ["u"]}, Asked(script)))
        if "ok" in got:
            (value,) = got["ok"]["result"]  # a map over one chunk: one answer
            got["ok"]["result"] = value
            got["ok"]["key"] = runtime(module).answer_key(value)
        out.append(got)
    return out


def plans(target: str, cases: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each case's program run on its input, every chunk answered with ``answers[chunk]``, or
    with its items as JSON when the case has no answers."""
    out = []
    for case in cases:
        module = load(case["program"])

        def script(request: dict[str, Any], nth: int, case: dict[str, Any] = case) -> str:
            if case["answers"] is None:
                return json.dumps(request["items"])
            return case["answers"][request["chunk"]]

        out.append(attempt(lambda m=module, c=case: RUNS[target](m, c["input"], Asked(script))))
    return out


def direct(program: str, calls: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``function(*args)`` of the program's runtime for each call."""
    module = load(program)
    functions = runtime(module)
    return [attempt(lambda c=call: getattr(functions, c["function"])(*c["args"])) for call in calls]


def main() -> None:
    target, path = sys.argv[1:3]
    with open(path, encoding="utf-8") as handle:
        cases = json.load(handle)
    out = {
        "readings": readings(target, cases["program"], cases["readings"]),
        "plans": plans(target, cases["plans"]),
        "direct": direct(cases["program"], cases["direct"]),
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
