"""``aalp serve-sim FILE``: a simulated OpenAI-compatible LLM for the spec's task."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
from aalp.cli.common import EXIT_USAGE, load_or_exit, one_line
from aalp.cli.options import (
    define_option,
    format_option,
    oracle_option,
    port_option,
    seed_option,
    spec_argument,
    task_option,
)


def _rate(ctx: click.Context, param: click.Parameter, value: float) -> float:
    if not 0.0 <= value <= 1.0:
        raise click.BadParameter("a rate is between 0 and 1")
    return value


def _faults(func: Any) -> Any:
    """The fault-injection options."""
    for option in reversed(
        [
            click.option(
                "--fail-rate", default=0.0, callback=_rate, help="Share of requests given HTTP 500."
            ),
            click.option(
                "--delay", "delay_ms", default=0.0, help="Milliseconds added to every request."
            ),
            click.option(
                "--malformed-rate",
                default=0.0,
                callback=_rate,
                help="Share of answers made unparsable.",
            ),
            click.option(
                "--overlong-rate",
                default=0.0,
                callback=_rate,
                help="Share of answers made longer than the red-flag limit.",
            ),
            click.option(
                "--correlated",
                is_flag=True,
                help="Wrong answers agree per input (else every wrong answer differs).",
            ),
            click.option(
                "--stuck-rate",
                default=0.0,
                callback=_rate,
                help="Share of inputs on which every sample gives the same wrong answer.",
            ),
            click.option(
                "--prefill-rate",
                default=0.0,
                type=click.FloatRange(0, min_open=False),
                metavar="TOKENS/S",
                help="Tokens read per second: each call waits for its prompt (0: no wait).",
            ),
            click.option(
                "--decode-rate",
                default=0.0,
                type=click.FloatRange(0, min_open=False),
                metavar="TOKENS/S",
                help="Tokens written per second: each call waits for its answer (0: no wait).",
            ),
            click.option(
                "--tool-latency",
                is_flag=True,
                help="A tool call waits for its tool's latency before it answers.",
            ),
        ]
    ):
        func = option(func)
    return func


@click.command("serve-sim")
@spec_argument
@define_option
@port_option()
@seed_option
@task_option
@click.option("--family", default=None, help="Oracle family (default: from the task's name).")
@oracle_option(
    "Your own oracle: FUNCTION(ask) returns the right answer to a request "
    "(docs/backends.md, 'The simulated LLM')."
)
@click.option(
    "--success",
    "successes",
    multiple=True,
    metavar="OP[@MODEL]=FORMULA",
    help="The true success of an op (on one model), a formula in x, instead of the spec's "
    "(--success move=0.99, --success count=exp(-(x/2000)^2)).",
)
@_faults
@click.option("--verbose", is_flag=True, help="Log every request.")
@format_option(help="What is served, as a line for people or one JSON object for tools.")
def command(
    file: Path,
    defines: dict[str, str],
    port: int,
    seed: int,
    task_name: str | None,
    family: str | None,
    custom: Any,
    successes: tuple[str, ...],
    verbose: bool,
    fmt: str,
    **faults: Any,
) -> None:
    """Serve a simulated LLM that answers the ops of spec FILE's task (- for standard input).

    It speaks /v1/chat/completions and /v1/models on 127.0.0.1 only, recognises each op by its
    system prompt, and answers right with the probability the spec states for that op, model
    and x (wrongly otherwise). The right answers come from the oracle of the sample task the
    task's name matches (hanoi, counting, ...), from --oracle, or else from the generic oracle,
    whose answers are hashes of the request with no meaning (said so at start). GET /sim/stats
    counts calls per op; POST /sim/reset clears it. The spec's tools answer POST
    /v1/tools/NAME ({"op": OP, "request": {...}} in, {"result": TEXT} out), right with the
    op's success on the tool, counted with the calls.
    """
    from aalp.sim import Faults, SimCore, SimError, SimServer
    from aalp.sim.oracles import FAMILIES

    checked = load_or_exit(file, defines)
    if family is not None and family not in (*FAMILIES, "generic"):
        raise click.BadParameter(
            f"unknown family; known: {', '.join(FAMILIES)}, generic", param_hint="'--family'"
        )
    if family is not None and custom is not None:
        raise click.UsageError("--family and --oracle cannot be used together")
    success = _successes(checked, task_name, successes)
    try:
        core = SimCore(checked, task_name, seed, Faults(**faults), family, custom, success)
        server = SimServer(core, port, verbose)
    except SimError as err:
        raise click.BadParameter(one_line(err), param_hint="'--task'") from None
    except OSError as err:
        click.echo(f"error: cannot listen on 127.0.0.1:{port}: {err.strerror}", err=True)
        raise click.exceptions.Exit(EXIT_USAGE) from None
    _announce(core, server, custom, fmt)
    try:
        server.httpd.serve_forever(poll_interval=0.1)
    except KeyboardInterrupt:
        pass
    finally:
        server.httpd.server_close()


def _successes(checked: Any, task_name: str | None, given: tuple[str, ...]) -> dict[str, Any]:
    """``--success OP[@MODEL]=FORMULA`` as ``{"op" or "op@model": Expr}``; usage errors for an
    unknown op or model, or a value that is not a formula."""
    from aalp.diagnostics import SpecError
    from aalp.front.parser import parse_expr
    from aalp.suggest import did_you_mean

    tasks = [t for t in checked.spec.tasks if task_name is None or t.name == task_name]
    ops = {o.name: o for o in tasks[0].ops} if tasks else {}
    out = {}
    for text in given:
        target, sep, formula = text.partition("=")
        op, _, model = target.strip().partition("@")
        if not sep or not op or not formula.strip():
            raise click.BadParameter(f"'{text}' is not OP=FORMULA", param_hint="'--success'")
        if op not in ops:
            hint = did_you_mean(op, ops, "op")
            raise click.BadParameter(f"no op '{op}'; {hint}", param_hint="'--success'")
        if model and model not in ops[op].models:
            raise click.BadParameter(
                f"op '{op}' does not run on '{model}'", param_hint="'--success'"
            )
        try:
            out[target.strip()] = parse_expr(formula.strip(), "--success")
        except SpecError as err:
            raise click.BadParameter(one_line(err), param_hint="'--success'") from None
    return out


def _announce(core: Any, server: Any, custom: Any, fmt: str) -> None:
    """Say what is served (on stderr) and the URL (on stdout, or a JSON object)."""
    from aalp.sim.oracles import FAMILIES

    oracle = custom.name if custom is not None else core.family
    click.echo(f"serving task {core.task.name!r} ({oracle} oracle) at {server.url}", err=True)
    if core.family == "generic":
        click.echo(
            f"warning: task {core.task.name!r} matches no sample family "
            f"({', '.join(FAMILIES)}): the generic oracle answers every request with a number "
            "made from a hash of it, with no meaning; pass --oracle MODULE:FUNCTION for real "
            "answers, or --family NAME",
            err=True,
        )
    if fmt == "json":
        info = {"url": server.url, "task": core.task.name, "oracle": oracle}
        click.echo(json.dumps(info, sort_keys=True))
    else:
        click.echo(server.url)
