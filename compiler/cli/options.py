"""The options every command shares, each declared once (docs/cli.md, "Conventions").

- ``--format text|json`` on every command (``--json`` is the same as ``--format json``);
  ``graph`` has ``dot|mermaid|json``;
- a spec argument of ``-`` reads standard input;
- ``--decisions FILE|-|JSON`` wherever a whole plan can be given;
- ``-D``, ``--pin``, ``--objective``, ``--task``, ``--target``, ``--port``, ``--seed`` and
  ``--timeout`` mean the same wherever they appear.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from .common import parse_defines
from .inputs import is_stdin, read_decisions

F = TypeVar("F", bound=Callable[..., Any])

SPEC_HELP = "a spec file, or - for standard input"


def define_option(func: F) -> F:
    """Add ``-D/--define NAME=VALUE`` (repeatable) as a ``defines: dict[str, str]`` argument."""
    return click.option(
        "-D",
        "--define",
        "defines",
        multiple=True,
        metavar="NAME=VALUE",
        callback=lambda _ctx, _param, values: parse_defines(values),
        help="Override a parameter; the value is a formula (-D n=1M, -D disks=10).",
    )(func)


def _pins(_ctx: Any, _param: Any, values: tuple[str, ...]) -> tuple[str, ...]:
    from aalp.plan.space import parse_pin_text

    for text in values:
        try:
            parse_pin_text(text)
        except ValueError as err:
            raise click.BadParameter(str(err), param_hint="'--pin'") from None
    return values


def pin_option(func: F) -> F:
    """Add ``--pin OP.FIELD=VALUE`` (repeatable, checked for its shape) as a
    ``pins: tuple[str, ...]`` argument; the value is a formula or a word, as in a spec."""
    return click.option(
        "--pin",
        "pins",
        multiple=True,
        metavar="OP.FIELD=VALUE",
        callback=_pins,
        help="Fix a decision before optimizing, as a pin line would (--pin move.x=1, "
        "--pin move.vote=none, --pin check.x=k).",
    )(func)


def objective_option(func: F) -> F:
    """Add ``--objective METRIC`` as an ``objective: str | None`` argument."""
    return click.option(
        "--objective",
        default=None,
        metavar="METRIC",
        help="Override the spec's objective (cost, dollars, calls, latency, success, ...).",
    )(func)


def task_option(func: F) -> F:
    """Add ``--task NAME`` as a ``task_name: str | None`` argument."""
    return click.option(
        "--task", "task_name", default=None, help="Which task of the spec (default: the first)."
    )(func)


def format_option(*choices: str, default: str = "text", help: str | None = None) -> Callable:
    """Add ``--format`` (``choices``, text and json by default) and its alias ``--json`` as a
    ``fmt: str`` argument; ``--json`` with another ``--format`` is a usage error."""
    choices = choices or ("text", "json")

    def decorate(func: F) -> F:
        @functools.wraps(func)
        def wrapper(*args: Any, json_alias: bool = False, **kwargs: Any) -> Any:
            if json_alias:
                given = click.get_current_context().get_parameter_source("fmt")
                if given is click.core.ParameterSource.COMMANDLINE and kwargs["fmt"] != "json":
                    raise click.UsageError(f"--json contradicts --format {kwargs['fmt']}")
                kwargs["fmt"] = "json"
            return func(*args, **kwargs)

        wrapper = click.option(
            "--json", "json_alias", is_flag=True, help="The same as --format json."
        )(wrapper)
        return click.option(
            "--format",
            "fmt",
            type=click.Choice(choices),
            default=default,
            show_default=True,
            help=help or "Text for people, or JSON for tools.",
        )(wrapper)

    return decorate


def decisions_option(func: F) -> F:
    """Add ``--decisions FILE|-|JSON`` as a ``decisions: dict | None`` argument (read and
    checked to be a JSON object once every option is parsed, so a spec that is also ``-`` is
    told apart)."""

    @functools.wraps(func)
    def wrapper(*args: Any, decisions: str | None = None, **kwargs: Any) -> Any:
        if is_stdin(decisions) and is_stdin(kwargs.get("file")):
            raise click.UsageError(
                "standard input ('-') cannot hold both the spec and the decisions: "
                "give one of them as a file"
            )
        return func(*args, decisions=read_decisions(decisions), **kwargs)

    return click.option(
        "--decisions",
        "decisions",
        default=None,
        metavar="FILE|-|JSON",
        help="Skip the optimizer and use this whole plan: a JSON file, - for standard input, "
        'or the JSON itself (\'{"move.x": 1, "move.vote": "ahead_by", ...}\').',
    )(wrapper)


def port_option(default: int = 8765) -> Callable[[F], F]:
    """Add ``--port`` (on 127.0.0.1; 0 picks a free one) as a ``port: int`` argument."""
    return click.option(
        "--port",
        type=click.IntRange(0, 65535),
        default=default,
        show_default=True,
        help="Port on 127.0.0.1 (0 picks a free one).",
    )


def seed_option(func: F) -> F:
    """Add ``--seed`` (every random choice derives from it) as a ``seed: int`` argument."""
    return click.option(
        "--seed", type=int, default=0, show_default=True, help="Seed of every random choice."
    )(func)


def timeout_option(default: float | None, help: str) -> Callable[[F], F]:
    """Add ``--timeout SECONDS`` (a positive number) as a ``timeout`` argument."""
    return click.option(
        "--timeout",
        type=click.FloatRange(0, 86400, min_open=True),
        default=default,
        show_default=default is not None,
        metavar="SECONDS",
        help=help,
    )


def target_option(func: F) -> F:
    """Add ``--target/-t NAME`` (a code-generation target) as a ``target: str`` argument."""
    return click.option(
        "--target",
        "-t",
        default="python",
        show_default=True,
        help="What to emit (aalp targets lists them).",
    )(func)


def spec_argument(func: F) -> F:
    """Add a single ``FILE`` argument: a spec path, or ``-`` for standard input."""
    return click.argument("file", type=click.Path(path_type=Path, allow_dash=True))(func)


def specs_argument(func: F) -> F:
    """Add ``FILE...``: one or more spec paths (``-`` for standard input, once)."""
    return click.argument(
        "files", nargs=-1, required=True, type=click.Path(path_type=Path, allow_dash=True)
    )(func)


def _confidence(_ctx: Any, _param: Any, value: float | None) -> float | None:
    if value is not None and not 0.5 <= value < 1.0:
        raise click.BadParameter("a confidence level is at least 0.5 and below 1")
    return value


def confidence_option(func: F) -> F:
    """Add ``--confidence LEVEL`` as a ``confidence: float | None`` argument."""
    return click.option(
        "--confidence",
        type=float,
        default=None,
        metavar="LEVEL",
        callback=_confidence,
        help="The level of a calibration's one-sided bounds (0.95): with --calibration, plan on "
        "them (the least success and keep, the most rival and tokens the measurements allow).",
    )(func)


def calibration_option(func: F) -> F:
    """Add ``--calibration FILE`` and ``--confidence LEVEL`` as ``calibration: Path | None``
    and ``confidence: float | None`` arguments (docs/calibration.md)."""
    func = confidence_option(func)
    return click.option(
        "--calibration",
        type=click.Path(path_type=Path, dir_okay=False),
        default=None,
        metavar="FILE",
        help="Measured rates and token counts (aalp calibrate) in place of the spec's guesses.",
    )(func)


def _load_oracle(_ctx: Any, _param: Any, value: str | None) -> Any:
    if value is None:
        return None
    from aalp.sim.oracles.custom import OracleError, load

    try:
        return load(value)
    except OracleError as err:
        raise click.BadParameter(str(err)) from None


def oracle_option(help: str) -> Callable[[F], F]:
    """Add ``--oracle MODULE:FUNCTION`` (the user's own answer function, loaded) as a
    ``custom`` argument."""
    return click.option(
        "--oracle",
        "custom",
        default=None,
        metavar="MODULE:FUNCTION",
        callback=_load_oracle,
        help=help,
    )
