"""What the framework targets (LangGraph, DSPy, OpenAI Agents SDK, AutoGen, CrewAI) share.

Every framework program runs the same plan shape: stages in order; a map or chain stage cuts
its data into chunks, and every chunk runs the stage's ops as *phases* (a routed op is preceded
by its classifier's phase); every phase is a set of *decisions*, each sampled until its booster
is satisfied. ``plan_context`` turns the shared view into the literals and the phase list the
templates print, and the tools of the plan's tool ops (their functions go in the python
target's ``tools.py``, written beside the program); the templates (``templates/`` here and in
each target's package) turn them into the framework's own idioms. Frameworks are never
imported here: compiling for a target does not need it installed.
"""

from __future__ import annotations

import math
import os
import textwrap
from typing import Any

from aalp.front.ir import VOTE_KINDS

from ..base import Backend
from ..combines import needs, source
from ..header import header_lines, plan_id
from ..literals import py_literal
from ..python import agreement, tool_function, tool_functions
from ..refusals import (
    BEAM_SEARCH,
    JUDGE_VOTE,
    NESTED_STAGES,
    beam_features,
    judge_features,
    nested_features,
)
from ..view import PlanError, View

#: the runtime module every framework program imports, written beside it
RUNTIME = "aalp_runtime.py"

#: what the answer must be, by the op's answer format (the runtime reads it by these rules)
ANSWERS = {
    "number": "one JSON number, nothing else",
    "json": "one JSON value, nothing else",
    "list": "one JSON list, nothing else",
    "choice": "the choice, on one line",
    "text": "the answer",
}


def answer_models(view: View) -> list[dict[str, str]]:
    """One pydantic model per op, ``<Op>Answer``, named uniquely (``_2`` on a clash), with
    the op's answer format as the field's description."""
    models, taken = [], set()
    for name, op in sorted(view["ops"].items()):
        base = "".join(part.capitalize() for part in name.split("_")) + "Answer"
        cls, n = base, 1
        while cls in taken:
            n += 1
            cls = f"{base}_{n}"
        taken.add(cls)
        models.append(
            {"op": name, "cls": cls, "form": op["answer"], "description": ANSWERS[op["answer"]]}
        )
    return models


#: features no framework target expresses yet (the python target runs them)
NO_FRAMEWORK = frozenset({NESTED_STAGES})


class FrameworkBackend(Backend):
    """A target emitting one program for a framework; subclasses name the template and file."""

    template: str = ""
    suffix: str = ""
    #: features of ``features`` this framework cannot express (each raises ``PlanError``)
    unsupported: frozenset[str] = frozenset({"routed_verifier", JUDGE_VOTE, BEAM_SEARCH})

    def environment(self) -> Any:
        """The target's own templates first, then the frameworks' shared ones beside this
        module, then every target's (the runtime core)."""
        import jinja2

        env = super().environment()
        here = os.path.join(os.path.dirname(__file__), "templates")
        env.loader = jinja2.ChoiceLoader([env.loader, jinja2.FileSystemLoader(here)])
        env.filters["repr"] = repr
        return env

    def files(self, view: View) -> list[tuple[str, str, dict[str, Any]]]:
        """The program, ``<task>_<suffix>.py``, and the runtime it imports beside it,
        ``aalp_runtime.py`` (the same file for every plan)."""
        for feature, message in features(view):
            if feature in self.unsupported or feature in NO_FRAMEWORK:
                raise PlanError(f"target {self.name}: {message}")
        name = f"{view['task']}_{self.suffix}.py"
        context = self.context(view, plan_context(view, self.name, name))
        out = [(name, self.template, context), (RUNTIME, "aalp_runtime.py.j2", {})]
        if context["tools"]:  # the python target's tools.py (a target refusing tools never has any)
            out.append(("tools.py", "tools.py.j2", {"tools": context["tools"]}))
        return out

    def context(self, view: View, context: dict[str, Any]) -> dict[str, Any]:
        """The target's additions to the shared template context (none by default)."""
        return context

    def check_hint(self, op: str) -> str:
        """The framework programs hold their exact checks in ``CHECKS``."""
        return f"supply CHECKS[{op!r}] in the emitted program"


def features(view: View) -> list[tuple[str, str]]:
    """``(feature, message)`` for every plan feature some framework target cannot express."""
    found = []
    for name, op in sorted(view["ops"].items()):
        booster = op["booster"]
        judge = view["ops"].get(booster["check"] or "")
        if booster["kind"] == "retry" and judge is not None and judge["routed_by"]:
            found.append(
                (
                    "routed_verifier",
                    f"op '{name}' retries until the LLM verifier '{booster['check']}' accepts, "
                    "and that verifier is routed, which this target does not express (use the "
                    "python target)",
                )
            )
    found += nested_features(view) + judge_features(view) + beam_features(view)
    for stage in view["stages"]:
        if stage["kind"] == "chain" and stage.get("history") == "full":
            found.append(
                (
                    "history_full",
                    f"chain {', '.join(stage['ops'])} keeps the full history, which this target "
                    "does not express (pin history = stateless, or use the python target)",
                )
            )
    return found


def _op_literal(op: dict[str, Any], need: str | None) -> dict[str, Any]:
    booster = op["booster"]
    retries, check = booster["retries"], booster["check"]
    if booster["kind"] == "retry" and retries is None:
        retries = "inf"
    return {
        "system": op["system"],
        "model": op["model"],
        "answer": op["answer"],
        "max_writes": op["max_writes"],
        "needs": need,
        "vote": booster["kind"] if booster["kind"] in VOTE_KINDS else "none",
        "votes": booster["votes"],
        "retries": retries if booster["kind"] == "retry" else None,
        # the LLM op judging every try of ``retry ... until VERIFY`` (None: an exact check)
        "verifier": check if booster["kind"] == "retry" and check != "exact" else None,
        # what the run's contract reads: the chunk size, prices, expected tokens, the share of
        # samples kept by the red flags and the predicted first-sample agreement of a vote
        "x": op["x"],
        "price_in": op["price_in"],
        "price_out": op["price_out"],
        "size": op["size"],
        "reads": op["reads"],
        "writes": op["writes"],
        "keep": op["keep"],
        "agreement": agreement(op),
        # an op on a tool: its name, latency and function in tools.py, and its price per call
        "tool": None
        if op["tool"] is None
        else {**op["tool"], "function": tool_function(op["tool"]["name"])},
        "price_call": op["price_call"],
    }


def phases(view: View, stage: dict[str, Any]) -> list[dict[str, Any]]:
    """The phases of one chunk of a map or chain stage, or of one reduce node.

    A routed op runs after its classifier, on the model the classifier's answer names.
    """
    names = [stage["op"]] if stage["kind"] == "reduce" else list(stage["ops"])
    out: list[dict[str, Any]] = []
    for name in names:
        op = view["ops"][name]
        if op["routed_by"]:
            classifier = view["ops"][op["routed_by"]]
            node = f"s{stage['index']}_{classifier['name']}"
            out.append(
                {
                    "op": classifier["name"],
                    "model": classifier["model"],
                    "node": node,
                    "call": node + "_call",
                    "routes_next": True,
                }
            )
        node = f"s{stage['index']}_{name}"
        out.append(
            {
                "op": name,
                "model": op["model"],
                "node": node,
                "call": node + "_call",
                "routes_next": False,
            }
        )
    return out


def _summary(stage: dict[str, Any]) -> str:
    match stage["kind"]:
        case "map":
            return (
                f"map {', '.join(stage['ops'])} over {stage['over']}: {stage['chunks']} chunks "
                f"of x = {stage['x']} in parallel"
            )
        case "chain":
            return (
                f"chain {', '.join(stage['ops'])} over {stage['over']}: {stage['chunks']} "
                f"chunks of x = {stage['x']}, one after another, history {stage['history']}"
            )
        case "reduce":
            return f"reduce {stage['op']}: a tree of fan-in {stage['fanin']}"
    return f"combine {stage['how']}"


def _stage_literal(stage: dict[str, Any]) -> dict[str, Any]:
    if stage["kind"] == "reduce":
        return {
            "data": "outputs",
            "fanin": stage["fanin"],
            "levels": [level["x"] for level in stage["levels"]],
            "limits": [level["max_writes"] for level in stage["levels"]],
        }
    stride = stage.get("stride", stage["x"])
    if isinstance(stride, float) and stride.is_integer():
        stride = int(stride)
    return {
        "over": stage["over"],
        "data": stage["data_kind"],
        "count": stage["count"],
        "x": stage["x"],
        "stride": stride,
        "chunks": stage["chunks"],
    }


#: what each target's program is, for its docstring
IDIOMS = {
    "langgraph": "a LangGraph StateGraph: build_graph(llm) takes any LangChain chat model.",
    "dspy": "a DSPy module, usable inside a DSPy program and optimizable by DSPy's optimizers.",
    "openai-agents": "OpenAI Agents SDK agents, one per op, and a runner over Chat Completions.",
    "autogen": "an AutoGen AgentChat GraphFlow, a node per stage; every call is one agent run.",
    "crewai": "a CrewAI Flow, a method per stage; every call is a one-task crew.",
}


def header(view: View, target: str, filename: str) -> str:
    """The module docstring and the comment header: the plan, prediction and assumptions
    (the same lines as every target's header)."""
    doc = docstring(
        "An LLM program compiled by aalp: the plan below, run against an OpenAI-compatible "
        f"endpoint.\n\nThe plan is {IDIOMS[target]}\n\n"
        f"Usage: python {filename} [--input FILE] [--base-url URL] [--model-map NAME=SERVED]...\n"
    )
    lines = [
        doc,
        "",
        "# Generated by aalp from the spec file and task named below; recompile rather than edit.",
    ]
    lines += [f"# {line}" if line else "#" for line in header_lines(view)]
    return "\n".join(lines)


def docstring(text: str) -> str:
    """``text`` as a docstring literal: triple quotes when that is exact, ``repr`` otherwise."""
    unusual = any(not ch.isprintable() and ch != "\n" for ch in text)
    if unusual or "\\" in text or '"""' in text or text.endswith('"'):
        return repr(text)
    return '"""' + text + '"""'


def literal(prefix: str, value: object) -> str:
    """``value``'s source after ``prefix`` (a line of its own, at column 0): on that line when
    it fits, else laid out from column 0, or in parentheses on the next line."""
    text = py_literal(value)
    if "\n" not in text and len(prefix) + len(text) > 99:
        return "(\n    " + py_literal(value, 4) + "\n)"
    return text


def plan_context(view: View, target: str, filename: str) -> dict[str, Any]:
    """Everything the framework templates print, as literals and a stage/phase list."""
    nodes = [s for s in view["stages"] if s["kind"] != "route"]
    stages = []
    for position, stage in enumerate(nodes):
        following = nodes[position + 1] if position + 1 < len(nodes) else None
        entry = dict(stage)
        entry["node"] = f"s{stage['index']}"
        entry["next"] = "__end__" if following is None else f"s{following['index']}"
        entry["summary"] = textwrap.wrap(f"stage {stage['index']}: {_summary(stage)}", 90)
        if stage["kind"] == "combine":
            entry["source"] = source(view, stage["index"])
        else:
            entry["phases"] = phases(view, stage)
        stages.append(entry)
    need = needs(view)
    ops = {name: _op_literal(op, need[name]) for name, op in sorted(view["ops"].items())}
    models = sorted({op["model"] for op in view["ops"].values()})
    pred = view.get("prediction") or {}
    checks = {
        name: None
        for name, op in ops.items()
        if op["retries"] is not None and op["verifier"] is None
    }
    workers = view.get("workers")
    max_concurrency = workers if workers else 16
    op_names = sorted(view["ops"])
    predicted = {
        op: float(n)
        for op, n in sorted((pred.get("calls_by_op") or {}).items())
        if isinstance(n, int | float) and math.isfinite(n)
    }
    return {
        "header": header(view, target, filename),
        "op_names": op_names,
        "predictor_names": ", ".join(f"``{name}_predict``" for name in op_names),
        "class_name": "".join(part.capitalize() for part in view["task"].split("_")) + "Plan",
        "stages": stages,
        "model_names": ", ".join(models),
        "ops_literal": literal("OPS: dict[str, dict[str, Any]] = ", ops),
        "models_literal": literal("MODELS: tuple[str, ...] = ", tuple(models)),
        "stages_literal": literal(
            "STAGES: dict[str, dict[str, Any]] = ",
            {s["node"]: _stage_literal(s) for s in stages if s["kind"] != "combine"},
        ),
        "checks_literal": literal("CHECKS: dict[str, Any] = ", checks),
        "predicted_literal": literal("PREDICTED_CALLS: dict[str, float] = ", predicted),
        "task_literal": py_literal(view["task"]),
        "plan_id_literal": py_literal(plan_id(view)),
        "prediction_literal": literal("PREDICTION: dict[str, Any] = ", view["prediction"]),
        "max_concurrency": max_concurrency,
        # the tools the plan's ops run on, as tools.py writes their functions (none: no tools.py)
        "tools": tool_functions(view),
    }
