"""Generated specs through every command: no internal error, no hang, and the optimum of the
model equal to exhaustive enumeration wherever enumeration is feasible.

``specgen.specs`` builds valid specs from every construct of the language. Each example runs
in a forked child under a time and memory limit, so a hang or a runaway allocation fails the
test instead of the suite: check, optimize (each search with a deadline of a second, so its
deadline path is exercised too; the growth fit for one spec in eight), explain's report and
text, the graph in every format, compile for the python target (and a framework target for
some), a short simulation and the explorer's API (check always, optimize for one spec in
eight). Only the errors a user is meant to see (``SpecError``, ``PlanError``,
``SimulationError``, a usage error) may come out. Seeded (derandomized) and bounded: 2,300
specs per run: 1,000 through every command (in four parts that run in parallel) and 1,300
small ones optimized by both solvers against exhaustive search; and small ones with a repeat
(of the whole pipeline, of one stage beside others, with K chosen) against exhaustive search.
"""

from __future__ import annotations

import math
import multiprocessing
import os
import resource
import tempfile
import time
import traceback
import zlib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, assume, given, settings
from specgen import Drawn, specs

TIME_LIMIT = 90.0  # seconds per spec (all commands): a hang
SEARCH_SECONDS = 0.5  # the optimizer's and the growth fit's deadline per spec
MEMORY_LIMIT = 3 << 30  # bytes of address space a spec may add

SETTINGS = dict(
    deadline=None,
    derandomize=True,
    database=None,
    phases=[Phase.generate],
    suppress_health_check=list(HealthCheck),
)


def _commands(text: str) -> str | None:
    """Every command on one spec; None when all is well, else the failure's text."""
    from aalp.api import compile as emit
    from aalp.backends.view import PlanError
    from aalp.checks.loader import load
    from aalp.diagnostics import SpecError, UsageError
    from aalp.explainer.render import render_text
    from aalp.explainer.report import report
    from aalp.explainer.schema import to_json
    from aalp.explainer.topology import build, to_dot, to_mermaid
    from aalp.explainer.topology import to_json as graph_json
    from aalp.model.montecarlo import SimulationError, simulate
    from aalp.optimizer.driver import optimize

    expected = (SpecError, PlanError, SimulationError, UsageError)
    seed = zlib.crc32(text.encode())
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "gen.aalp"
        path.write_text(text, encoding="utf-8")
        try:
            checked = load(path)
        except expected:
            return None
        result = None
        try:
            # A deadline keeps the rare slow spec from dominating the run (and tests the
            # deadline's own path); the optimizer's speed is measured in bench/, not here.
            result = optimize(checked, deadline=time.monotonic() + SEARCH_SECONDS)
            rep = report(
                checked, result, growth=seed % 8 == 0, deadline=time.monotonic() + SEARCH_SECONDS
            )
            render_text(rep)
            to_json(rep)
            if result.plan is not None:
                task = checked.spec.tasks[0]
                g = build(checked, task, result.plan.evaluation)
                to_dot(g), to_mermaid(g), graph_json(g)
                assert g.graph["critical_latency"] == pytest.approx(
                    result.plan.metrics["latency"], rel=1e-9, abs=1e-9
                ) or not math.isfinite(result.plan.metrics["latency"])
                if result.plan.valid:
                    total = sum(st.chunks for st in result.plan.evaluation.stages)
                    if total <= 10_000:
                        simulate(checked, None, result.plan.decisions, runs=20, seed=1)
            if result.feasible:
                decisions = dict(result.plan.decisions)
                emit(checked, "python", decisions=decisions)
                if seed % 5 == 0:
                    target = ("langgraph", "dspy", "openai-agents")[seed % 3]
                    emit(checked, target, decisions=decisions)
        except expected:
            pass
        except Exception:
            return traceback.format_exc()
        from aalp.explore import api

        answers = [api.check_spec(text, str(path))]
        if seed % 8 == 1 and (result is None or not result.notes):  # the optimizer once more
            answers.append(api.optimize_spec(text, str(path)))
        for answer in answers:
            if any(d.get("code", "").startswith("X003") for d in answer.get("diagnostics", [])):
                return f"explorer: {answer['diagnostics']}"
    return None


def _child(conn, text: str) -> None:
    try:
        soft = _address_space() + MEMORY_LIMIT
        resource.setrlimit(resource.RLIMIT_AS, (soft, resource.RLIM_INFINITY))
        conn.send(_commands(text))
    except MemoryError:
        conn.send("MemoryError: the spec used more than the memory limit")
    except BaseException:
        conn.send(traceback.format_exc())
    finally:
        conn.close()


def _address_space() -> int:
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    return 0


def _warm() -> None:
    """Import what the commands use before forking, so no child pays for the imports."""
    import importlib

    for name in (
        "sympy",
        "numpy",
        "jinja2",
        "aalp.model.symbolic",
        "aalp.explainer.report",
        "aalp.explainer.render",
        "aalp.explainer.topology",
        "aalp.model.montecarlo",
        "aalp.backends.emit",
        "aalp.explore.api",
    ):
        importlib.import_module(name)


def run_limited(text: str) -> str | None:
    """``_commands(text)`` in a forked child under the limits; the failure, if any."""
    _warm()
    ctx = multiprocessing.get_context("fork")
    receiver, sender = ctx.Pipe(duplex=False)
    child = ctx.Process(target=_child, args=(sender, text), daemon=True)
    child.start()
    sender.close()
    try:
        if not receiver.poll(TIME_LIMIT):
            child.kill()
            return f"no answer within {TIME_LIMIT:.0f} s (a hang)"
        return receiver.recv()
    except EOFError:
        return f"the child died (exit code {child.exitcode}): a crash or the memory limit"
    finally:
        receiver.close()
        child.join(5)
        if child.is_alive():
            child.kill()


def _total(drawn: Drawn) -> None:
    failure = run_limited(drawn.text)
    assert failure is None, f"{failure}\n--- spec ---\n{drawn.text}"


needs_fork = pytest.mark.skipif(
    not hasattr(os, "fork") or not Path("/proc/self/status").exists(),
    reason="needs fork and /proc (Linux)",
)


@needs_fork
@pytest.mark.parametrize("part", range(4))
def test_every_command_is_total_on_generated_specs(part):
    # 4 x 160 specs: the suite's slowest test, sized to keep CI within its time
    @settings(max_examples=160, **SETTINGS)
    @given(specs())
    def one(drawn: Drawn) -> None:
        assume(zlib.crc32(drawn.text.encode()) % 4 == part)  # the parts draw disjoint specs
        _total(drawn)

    one()


# ---------------------------------------------------------------------------------------------
# exactness
# ---------------------------------------------------------------------------------------------


def _exhaustive_agrees(text: str, solver: str) -> str | None:
    from aalp.checks.loader import load_text
    from aalp.diagnostics import SpecError
    from aalp.optimizer.driver import optimize
    from oracles.exhaustive import TooLarge, search

    try:
        checked = load_text(text, "<gen>")
    except SpecError:
        return None
    try:
        brute = search(checked, limit=20_000)
    except TooLarge:
        return None
    result = optimize(checked, frontier=False, baselines=False, solver=solver)
    if brute.feasible != result.feasible:
        return f"feasible: exhaustive {brute.feasible}, optimizer {result.feasible}"
    if not brute.feasible:
        return None
    metric = result.objective[1]
    got = result.plan.value(metric)
    if not math.isclose(got, brute.value, rel_tol=1e-7, abs_tol=1e-12):
        return f"{metric}: exhaustive {brute.value!r} ({brute.decisions}), optimizer {got!r}"
    return None


@pytest.mark.parametrize("solver", ["dp", "cpsat"])
def test_the_optimum_equals_exhaustive_search_on_small_generated_specs(solver):
    @settings(max_examples=1000 if solver == "dp" else 300, **SETTINGS)
    @given(specs(small=True))
    def one(drawn: Drawn) -> None:
        problem = _exhaustive_agrees(drawn.text, solver)
        assert problem is None, f"{problem}\n--- spec ---\n{drawn.text}"

    one()


def _repeated(text: str, k: int) -> str | None:
    """``text`` with its one chain the task's whole pipeline, repeated k times then voted
    (None when the spec is not a lone chain)."""
    lines = text.split("\n")
    stages = [
        i for i, ln in enumerate(lines) if ln.startswith(("  chain ", "  map ", "  combine "))
    ]
    if len(stages) != 1 or not lines[stages[0]].startswith("  chain "):
        return None
    lines[stages[0]] = f"  repeat {lines[stages[0]].strip()} {k} then vote"
    return "\n".join(lines)


def test_the_optimum_of_a_repeated_chain_equals_exhaustive_search():
    from hypothesis import strategies as st

    @settings(max_examples=60, **SETTINGS)
    @given(specs(small=True), st.sampled_from([1, 3, 5]))
    def one(drawn: Drawn, k: int) -> None:
        text = _repeated(drawn.text, k)
        assume(text is not None and "require accuracy" not in text and "errors" not in text)
        problem = _exhaustive_agrees(text, "dp")
        assert problem is None, f"{problem}\n--- spec ---\n{text}"

    one()


def _partly_repeated(text: str, k: int | str, which: int) -> str | None:
    """``text`` with one of its one-line chains or maps repeated k times then voted, beside
    its other top-level stages (None when the spec has a single stage or no such line)."""
    lines = text.split("\n")
    kinds = ("  chain ", "  map ", "  combine ", "  reduce ", "  route ")
    stages = [i for i, ln in enumerate(lines) if ln.startswith(kinds)]
    one_line = [
        i for i in stages if lines[i].startswith(("  chain ", "  map ")) and "{" not in lines[i]
    ]
    if len(stages) < 2 or not one_line:
        return None
    i = one_line[which % len(one_line)]
    lines[i] = f"  repeat {lines[i].strip()} {k} then vote"
    return "\n".join(lines)


def _planned(text: str) -> bool:
    """True when the optimizer plans the spec's repeat (not refused with E609)."""
    from aalp import codes
    from aalp.checks.loader import load_text
    from aalp.diagnostics import SpecError
    from aalp.optimizer.driver import optimize

    try:
        optimize(load_text(text, "<gen>"), frontier=False, baselines=False)
    except SpecError as err:
        if any(d.code == codes.REPEAT_NOT_PLANNED for d in err.diagnostics):
            return False
    return True


def test_the_optimum_of_a_partly_repeated_pipeline_equals_exhaustive_search():
    from hypothesis import strategies as st

    compared = []

    @settings(max_examples=150, **SETTINGS)
    @given(specs(small=True), st.sampled_from([1, 3, 5]), st.integers(0, 3))
    def one(drawn: Drawn, k: int, which: int) -> None:
        text = _partly_repeated(drawn.text, k, which)
        assume(text is not None and "require accuracy" not in text and "errors" not in text)
        assume(_planned(text))
        problem = _exhaustive_agrees(text, "dp")
        assert problem is None, f"{problem}\n--- spec ---\n{text}"
        compared.append(text)

    one()
    assert len(compared) >= 20  # the property held on that many specs


def _chosen_agrees(text: str) -> str | None:
    """None when the optimizer's plan for ``text`` (a repeat with K ``choose``) is as good as
    the best of exhaustive enumeration at every odd K up to the search's bound."""
    from aalp.checks.loader import load_text
    from aalp.optimizer.driver import optimize
    from aalp.optimizer.repeat_choose import MAX_CHOSEN, at_count
    from oracles.exhaustive import search

    checked = load_text(text, "<gen>")
    result = optimize(checked, frontier=False, baselines=False)
    sense, metric = result.objective
    best = None
    for k in range(1, MAX_CHOSEN + 1, 2):
        brute = search(at_count(checked, checked.spec.tasks[0], k), limit=5_000)
        if brute.feasible and (
            best is None or (brute.value > best if sense == "maximize" else brute.value < best)
        ):
            best = brute.value
    if result.feasible != (best is not None):
        return f"feasible: exhaustive {best is not None}, optimizer {result.feasible}"
    got = None if best is None else result.plan.value(metric)
    if best is not None and not math.isclose(got, best, rel_tol=1e-7, abs_tol=1e-12):
        return f"{metric}: exhaustive {best!r}, optimizer {got!r}"
    return None


def test_the_chosen_count_equals_exhaustive_search_over_every_k():
    from hypothesis import strategies as st
    from oracles.exhaustive import TooLarge

    compared = []

    @settings(max_examples=15, **SETTINGS)
    @given(specs(small=True), st.integers(0, 3))
    def one(drawn: Drawn, which: int) -> None:
        text = _partly_repeated(drawn.text, "choose", which) or _repeated(drawn.text, "choose")
        assume(text is not None and "require accuracy" not in text and "errors" not in text)
        assume(_planned(text))
        try:
            problem = _chosen_agrees(text)
        except TooLarge:
            assume(False)
        assert problem is None, f"{problem}\n--- spec ---\n{text}"
        compared.append(text)

    one()
    assert len(compared) >= 10  # the property held on that many specs
