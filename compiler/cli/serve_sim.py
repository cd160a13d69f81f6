"""``aalp serve-sim FILE``: a simulated OpenAI-compatible LLM for the spec's task."""

from __future__ import annotations

from pathlib import Path

import click
from aalp.cli.common import (
    EXIT_USAGE,
    define_option,
    load_or_exit,
    one_line,
    spec_argument,
    task_option,
)


def _rate(ctx: click.Context, param: click.Parameter, value: float) -> float:
    if not 0.0 <= value <= 1.0:
        raise click.BadParameter("a rate is between 0 and 1")
    return value


@click.command("serve-sim")
@spec_argument
@define_option
@click.option("--port", default=8765, show_default=True, help="Port on 127.0.0.1 (0: any).")
@click.option("--seed", default=0, show_default=True, help="Seed of every random choice.")
@task_option
@click.option("--family", default=None, help="Oracle family (default: from the task's name).")
@click.option("--fail-rate", default=0.0, callback=_rate, help="Share of requests given HTTP 500.")
@click.option("--delay", "delay_ms", default=0.0, help="Milliseconds added to every request.")
@click.option(
    "--malformed-rate", default=0.0, callback=_rate, help="Share of answers made unparsable."
)
@click.option(
    "--overlong-rate",
    default=0.0,
    callback=_rate,
    help="Share of answers made longer than the red-flag limit.",
)
@click.option(
    "--correlated",
    is_flag=True,
    help="Wrong answers agree per input (else every wrong answer differs).",
)
@click.option("--verbose", is_flag=True, help="Log every request.")
def command(
    file: Path,
    defines: dict[str, str],
    port: int,
    seed: int,
    task_name: str | None,
    family: str | None,
    fail_rate: float,
    delay_ms: float,
    malformed_rate: float,
    overlong_rate: float,
    correlated: bool,
    verbose: bool,
) -> None:
    """Serve a simulated LLM that answers the ops of spec FILE's task.

    It speaks /v1/chat/completions and /v1/models on 127.0.0.1 only, recognises each op by its
    system prompt, and answers right with the probability the spec states for that op, model
    and x (wrongly otherwise). GET /sim/stats counts calls per op; POST /sim/reset clears it.
    """
    from aalp.sim import Faults, SimCore, SimError, SimServer
    from aalp.sim.oracles import FAMILIES

    checked = load_or_exit(file, defines)
    if family is not None and family not in (*FAMILIES, "generic"):
        raise click.BadParameter(
            f"unknown family; known: {', '.join(FAMILIES)}, generic", param_hint="'--family'"
        )
    faults = Faults(fail_rate, delay_ms, malformed_rate, overlong_rate, correlated)
    try:
        core = SimCore(checked, task_name, seed, faults, family)
        server = SimServer(core, port, verbose)
    except SimError as err:
        raise click.BadParameter(one_line(err), param_hint="'--task'") from None
    except OSError as err:
        click.echo(f"error: cannot listen on 127.0.0.1:{port}: {err.strerror}", err=True)
        raise click.exceptions.Exit(EXIT_USAGE) from None
    click.echo(f"serving task {core.task.name!r} ({core.family} oracle) at {server.url}", err=True)
    click.echo(server.url, err=False)
    try:
        server.httpd.serve_forever(poll_interval=0.1)
    except KeyboardInterrupt:
        pass
    finally:
        server.httpd.server_close()
