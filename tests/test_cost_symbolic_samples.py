"""On the samples: each plan's closed forms equal evaluate() at the sample's sizes, and the
growth classes of the optimized plans and the baselines are the papers'."""

from __future__ import annotations

from pathlib import Path

import pytest
import sympy
from aalp.model.symbolic import closed_form, growth_class, size_symbols, value_at, with_pins

SAMPLES = sorted((Path(__file__).parent.parent / "samples").glob("*.aalp"))


def result_of(path: Path):
    from aalp.checks.loader import load
    from aalp.optimizer.driver import optimize

    checked = load(path, {})
    return checked, optimize(checked)


@pytest.mark.parametrize("path", SAMPLES, ids=[p.stem for p in SAMPLES])
def test_closed_forms_equal_the_numbers_on_every_sample(path):
    from aalp.model.cost import build_context

    checked, result = result_of(path)
    values = dict(checked.env)
    plans = [dict(result.plan.decisions)]
    task = checked.spec.tasks[0]
    for pins, base in zip(task.baselines, result.baselines, strict=True):
        if base.plan is not None:
            plans.append(with_pins(base.plan.decisions, pins.pins))
    assert size_symbols(build_context(checked, None))
    for decisions in plans:
        from aalp.model.cost import evaluate

        ev = evaluate(checked, None, decisions)
        for metric in ("cost", "calls", "dollars", "latency", "success"):
            form = closed_form(checked, None, decisions, metric)
            assert value_at(form, values) == pytest.approx(ev.value(metric), rel=1e-9), metric


GROWTH = {
    # sample: (symbols, optimized plan's growth, {baseline: growth})
    "hanoi": (["s"], "Θ(s·log s)", {"single_agent": "Θ(s^2)", "one_step_no_vote": "Θ(s)"}),
    "debugging": (["b", "k", "l"], None, {"conversation": "Θ(b^2·k^2·l^2)"}),
    "evolution": (["k", "l"], None, {"global": "Θ(2^k·k^2·l^2)"}),
    "routing": (["k", "n"], None, {"generalist_only": "Θ(k·n)"}),
}


@pytest.mark.parametrize("name", sorted(GROWTH))
def test_growth_classes_of_plans_and_baselines(name):
    path = next(p for p in SAMPLES if p.stem == name)
    checked, result = result_of(path)
    names, plan_growth, baselines = GROWTH[name]
    symbols = [sympy.Symbol(s, positive=True, integer=True) for s in names]
    if plan_growth is not None:
        form = closed_form(checked, None, result.plan.decisions, symbols=names, asymptotic=True)
        assert growth_class(form, symbols) == plan_growth
    task = checked.spec.tasks[0]
    for pins, base in zip(task.baselines, result.baselines, strict=True):
        if pins.name in baselines:
            d = with_pins(base.plan.decisions, pins.pins)
            form = closed_form(checked, None, d, symbols=names, asymptotic=True)
            assert growth_class(form, symbols) == baselines[pins.name], pins.name
