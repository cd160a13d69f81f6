"""``aalp graph FILE``: the optimal plan's call graph as Graphviz, Mermaid or JSON."""

from __future__ import annotations

from pathlib import Path

import click
from aalp.cli.common import EXIT_SPEC, load_or_exit, usage_failure
from aalp.cli.options import (
    define_option,
    format_option,
    objective_option,
    pin_option,
    spec_argument,
    task_option,
)


@click.command("graph")
@spec_argument
@define_option
@format_option(
    "dot",
    "mermaid",
    "json",
    default="dot",
    help="Graphviz dot, a Mermaid flowchart (both text), or JSON with every node's metrics.",
)
@task_option
@objective_option
@pin_option
def command(
    file: Path,
    defines: dict[str, str],
    fmt: str,
    task_name: str | None,
    objective: str | None,
    pins: tuple[str, ...],
) -> None:
    """Optimize the task in FILE (- for standard input) and print the plan's call graph.

    Repeated calls are folded into one node with a multiplicity; the critical path is marked.
    When no plan meets the requirements, the most reliable plan is drawn and the exit code is 1.
    """
    from aalp.diagnostics import SpecError
    from aalp.explainer.topology import build, to_dot, to_json, to_mermaid
    from aalp.optimizer.driver import optimize
    from aalp.plan.space import select_task

    checked = load_or_exit(file, defines)
    try:
        result = optimize(
            checked, task_name, objective, list(pins), frontier=False, baselines=False
        )
        task = select_task(checked.spec, task_name)
    except SpecError as err:
        raise usage_failure(err) from None
    if result.plan is None:
        for w in result.why:
            click.echo(f"infeasible: {w}", err=True)
        raise click.exceptions.Exit(EXIT_SPEC)
    g = build(checked, task, result.plan.evaluation, result.objective[1])
    render = {"dot": to_dot, "mermaid": to_mermaid, "json": to_json}[fmt]
    click.echo(render(g), nl=False)
    if not result.feasible:
        for w in result.why:
            click.echo(f"infeasible: {w}", err=True)
        raise click.exceptions.Exit(EXIT_SPEC)
