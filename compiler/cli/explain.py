"""``aalp explain FILE``: find the optimal plan and explain it (docs/explain.md)."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import click
from aalp.cli.calibrated import calibrated
from aalp.cli.common import EXIT_SPEC, Progress, load_or_exit, terminal_width, usage_failure
from aalp.cli.options import (
    calibration_option,
    define_option,
    format_option,
    objective_option,
    pin_option,
    spec_argument,
    task_option,
    timeout_option,
)


@click.command("explain")
@spec_argument
@define_option
@format_option(help="Text for people (a tree and tables) or JSON for tools.")
@task_option
@objective_option
@pin_option
@calibration_option
@click.option(
    "--no-growth", is_flag=True, help="Skip the numeric growth fit (faster on large specs)."
)
@timeout_option(None, "Stop the search after this long with the best plan found so far (said so).")
@click.option(
    "--solver",
    type=click.Choice(["dp", "cpsat"]),
    default="dp",
    show_default=True,
    help="Allocation across blocks: the exact merge (dp) or a CP-SAT model (cpsat).",
)
def command(
    file: Path,
    defines: dict[str, str],
    fmt: str,
    task_name: str | None,
    objective: str | None,
    pins: tuple[str, ...],
    no_growth: bool,
    timeout: float | None,
    solver: str,
    calibration: Path | None = None,
    confidence: float | None = None,
) -> None:
    """Optimize the task in FILE (- for standard input) and explain the plan.

    Prints the plan as a tree with each call's decisions and cost, the totals beside every
    baseline with its improvement ratio, the growth class of the cost in the task's size, the
    Pareto frontier and the assumptions. Exits 1 when no plan meets the requirements (with the
    reasons), 2 on bad usage.
    """
    from aalp.diagnostics import SpecError
    from aalp.explainer.render import render_text
    from aalp.explainer.report import report
    from aalp.explainer.schema import to_json
    from aalp.optimizer.driver import optimize

    raw = load_or_exit(file, defines)
    checked = calibrated(raw, file, calibration, confidence, task_name)
    deadline = None if timeout is None else time.monotonic() + timeout
    progress = Progress()
    try:
        result = optimize(
            checked,
            task_name,
            objective,
            list(pins),
            solver=solver,
            deadline=deadline,
            progress=progress.line,
        )
        progress.line("fitting the growth")
        rep = report(
            checked,
            result,
            growth=not no_growth,
            objective=objective,
            extra_pins=list(pins),
            deadline=deadline,
        )
    except SpecError as err:
        raise usage_failure(err) from None
    finally:
        progress.done()
    measured = (
        None if calibration is None else _robust(raw, calibration, confidence, task_name, pins)
    )
    if fmt == "json":
        if measured is None:
            click.echo(to_json(rep), nl=False)
        else:
            from aalp.explainer.schema import plain

            body = {**plain(rep), "calibration": measured[0].to_json()}
            click.echo(json.dumps(body, indent=2, ensure_ascii=False))
    else:
        color = sys.stdout.isatty() and not os.environ.get("NO_COLOR")
        click.echo(render_text(rep, terminal_width(), color), nl=False)
        if measured is not None:
            from aalp.calibrate.robust import render

            click.echo(render(*measured), nl=False)
    if not result.feasible:
        raise click.exceptions.Exit(EXIT_SPEC)


def _robust(
    raw: object,
    calibration: Path,
    confidence: float | None,
    task_name: str | None,
    pins: tuple[str, ...],
) -> tuple[object, list[str]]:
    """The plan against the calibration's intervals, and the warnings about correlated
    errors (voting buys less than modelled)."""
    from aalp import codes
    from aalp.calibrate.robust import robustness
    from aalp.calibration import schema
    from aalp.calibration.apply import apply

    read = schema.read(calibration)
    level = confidence or 0.95
    rob = robustness(raw, read, task_name, list(pins), level)
    warnings = [
        d.message
        for d in apply(raw, read, task_name, "estimate", level).warnings
        if d.code == codes.CORRELATED_ERRORS
    ]
    return rob, warnings
