"""``aalp simulate FILE``: Monte Carlo of a plan beside the cost model's predictions."""

from __future__ import annotations

import json
import math
import sys
import textwrap
from pathlib import Path
from typing import Any

import click
from aalp.cli.calibrated import calibrated
from aalp.cli.common import (
    EXIT_SPEC,
    load_or_exit,
    print_error,
    terminal_width,
    usage_failure,
)
from aalp.cli.options import (
    calibration_option,
    decisions_option,
    define_option,
    format_option,
    pin_option,
    seed_option,
    spec_argument,
    task_option,
)
from aalp.explainer.units import LEGEND, labelled
from aalp.model.metrics import METRIC_FIELDS

ROWS = METRIC_FIELDS


def _fmt(value: float) -> str:
    if value == 0 or not math.isfinite(value):
        return f"{value:g}"
    return f"{value:.6g}" if 1e-4 <= abs(value) < 1e7 else f"{value:.4e}"


def _decisions(
    checked: Any, task_name: str | None, given: dict[str, Any] | None, pins: tuple[str, ...]
):
    """The plan to simulate: ``--decisions`` as given (pins on top), else the optimizer's plan
    with the pins fixed."""
    from aalp.diagnostics import SpecError

    if given is not None:
        from aalp.plan.space import build, parse_pins

        try:
            pinned = parse_pins(build(checked, task_name), list(pins), checked.env)
        except SpecError as err:
            raise usage_failure(err) from None
        return {**given, **pinned}, "given"
    from aalp.optimizer.driver import optimize

    try:
        result = optimize(
            checked, task_name, extra_pins=list(pins), frontier=False, baselines=False
        )
    except SpecError as err:
        raise usage_failure(err) from None
    if result.plan is None:
        reasons = "; ".join(result.why) or "no plan"
        click.echo(f"error: the optimizer found no plan to simulate: {reasons}", err=True)
        raise click.exceptions.Exit(EXIT_SPEC)
    if not result.feasible:
        return dict(result.plan.decisions), "most reliable (no plan meets the requirements)"
    return dict(result.plan.decisions), "optimized"


def _table(ev: Any, sim: Any) -> list[str]:
    lo, hi = sim.wilson()
    # a label is at most 24 cells and a number at most 11: every column stays apart in 80
    head = f"{'metric':<24}{'predicted':>12}{'simulated':>12}  {'95% interval':<24}{'z':>6}"
    lines = [head, "-" * len(head)]
    p = ev.success
    z = (sim.success - p) / math.sqrt(max(p * (1 - p), 1e-300) / sim.runs)
    interval = f"[{_fmt(lo)}, {_fmt(hi)}]"
    lines.append(_row("success", p, sim.success, interval, z))
    for name in _rows(ev):
        d = sim.metrics[name]
        expect = getattr(ev.metrics, name)
        a, b = d.interval()
        # a constant total has only float noise for a spread: no z-score to speak of
        noise = d.std <= 1e-12 * abs(d.mean)
        zz = 0.0 if noise or d.stderr == 0 else (d.mean - expect) / d.stderr
        interval = f"[{_fmt(a)}, {_fmt(b)}]"
        lines.append(_row(name, expect, d.mean, interval, zz))
    return lines


def _row(metric: str, predicted: float, simulated: float, interval: str, z: float) -> str:
    """One metric's row of the table, labelled with its unit."""
    return (
        f"{labelled(metric):<24}{_fmt(predicted):>12}{_fmt(simulated):>12}  {interval:<24}{z:>6.2f}"
    )


@click.command("simulate")
@spec_argument
@define_option
@click.option("--runs", type=click.IntRange(1), default=1000, show_default=True, help="Runs.")
@seed_option
@task_option
@decisions_option
@pin_option
@calibration_option
@format_option(help="A table for people or JSON for tools.")
def command(
    file: Path,
    defines: dict[str, str],
    runs: int,
    seed: int,
    task_name: str | None,
    decisions: dict[str, Any] | None,
    pins: tuple[str, ...],
    fmt: str,
    calibration: Path | None = None,
    confidence: float | None = None,
) -> None:
    """Run FILE's plan many times under the model and print the empirical success and cost
    distribution beside the predictions, with 95% intervals (Wilson for success). FILE -
    reads standard input.

    By default the plan is the optimizer's (with any --pin fixed); --decisions gives it whole.
    """
    from aalp.diagnostics import SpecError
    from aalp.model.cost import DecisionError, build_context, evaluate
    from aalp.model.montecarlo import SimulationError
    from aalp.model.repeat_choice import resolve

    checked = calibrated(load_or_exit(file, defines), file, calibration, confidence, task_name)
    try:
        plan, source = _decisions(checked, task_name, decisions, pins)
        resolved, _ = resolve(checked, task_name, plan)  # repeat ... choose: K from the plan
        ctx = build_context(resolved, task_name)
        ev = evaluate(ctx, None, plan)
        if not ev.feasible:
            click.echo("error: the plan cannot run: " + "; ".join(ev.problems), err=True)
            raise click.exceptions.Exit(EXIT_SPEC)
        sim = _run(ctx, plan, runs, seed)
        items, items_note = _items(ctx, plan, runs, seed)
    except (DecisionError, SimulationError) as err:
        raise usage_failure(err) from None
    except SpecError as err:
        print_error(err, file)
        raise click.exceptions.Exit(EXIT_SPEC) from None
    if fmt == "json":
        out = _json(ev, plan, source, runs, seed, sim)
        if items is not None:
            out["accuracy"] = {
                "items": ctx.items,
                "predicted": ev.accuracy,
                "simulated": items.accuracy,
                "interval": list(items.interval()),
            }
        elif items_note:
            out["accuracy"] = {"items": ctx.items, "predicted": ev.accuracy, "note": items_note}
        click.echo(json.dumps(out, indent=2, sort_keys=True, default=str))
        return
    click.echo(f"task {ev.task}: {runs} runs, seed {seed}, {source} plan")
    click.echo("plan: " + ", ".join(f"{k}={plan[k]}" for k in sorted(plan)))
    click.echo("")
    for line in _table(ev, sim):
        click.echo(line)
    if items is not None:
        lo, hi = items.interval()
        z = 0.0 if items.stderr == 0 else (items.accuracy - ev.accuracy) / items.stderr
        interval = f"[{_fmt(lo)}, {_fmt(hi)}]"
        sim_acc = _fmt(items.accuracy)
        click.echo(
            f"{'accuracy':<15}{_fmt(ev.accuracy):>14}  {sim_acc:>12}  {interval:<24}{z:>6.2f}"
        )
    elif items_note:
        click.echo(f"accuracy: {items_note}")
    click.echo("")
    click.echo("z: (simulated − predicted) / standard error; |z| above 4 is a disagreement.")
    for line in textwrap.wrap(f"({LEGEND})", terminal_width(), break_long_words=False):
        click.echo(line)


def _json(ev: Any, plan: dict[str, Any], source: str, runs: int, seed: int, sim: Any) -> dict:
    """The simulation beside the predictions, as JSON data."""
    return {
        "task": ev.task,
        "plan": source,
        "decisions": {k: plan[k] for k in sorted(plan)},
        "runs": runs,
        "seed": seed,
        "success": {
            "predicted": ev.success,
            "simulated": sim.success,
            "interval": list(sim.wilson()),
        },
        "metrics": {
            name: {
                "predicted": getattr(ev.metrics, name),
                "mean": sim.metrics[name].mean,
                "stderr": sim.metrics[name].stderr,
                "q05": sim.metrics[name].q05,
                "q50": sim.metrics[name].q50,
                "q95": sim.metrics[name].q95,
            }
            for name in _rows(ev)
        },
    }


def _rows(ev: Any) -> tuple[str, ...]:
    """The metrics to show: seconds only when the plan's models have speeds (else unknown)."""
    return tuple(n for n in ROWS if n != "seconds" or not math.isnan(ev.metrics.seconds))


def _items(ctx: Any, plan: dict[str, Any], runs: int, seed: int) -> tuple[Any, str | None]:
    """The per-item accuracy simulated item by item (docs/model.md §3, items), or why not."""
    from aalp.model.montecarlo import SimulationError
    from aalp.model.montecarlo_items import simulate_items

    if ctx.items is None:
        return None, None
    try:
        return simulate_items(ctx, None, plan, runs, seed), None
    except SimulationError as err:
        return None, f"not simulated item by item: {err}"


def _run(ctx: Any, plan: dict[str, Any], runs: int, seed: int):
    """Simulate, with a progress bar on a terminal."""
    from aalp.model.montecarlo import simulate

    if not sys.stderr.isatty():
        return simulate(ctx, None, plan, runs, seed)
    from rich.progress import Progress

    with Progress(transient=True) as bar:
        task = bar.add_task("simulating", total=None)

        def step(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        return simulate(ctx, None, plan, runs, seed, progress=step)
