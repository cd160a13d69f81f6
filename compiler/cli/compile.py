"""``aalp compile FILE [-D ...] [--target NAME] -o DIR [--pin OP.FIELD=VALUE]...``."""

from __future__ import annotations

import json
from pathlib import Path

import click
from aalp.cli.common import (
    EXIT_SPEC,
    define_option,
    load_or_exit,
    one_line,
    pin_option,
    print_error,
    spec_argument,
    task_option,
)


@click.command("compile")
@spec_argument
@define_option
@click.option(
    "--target",
    "-t",
    default="python",
    show_default=True,
    help="What to emit (aalp targets lists them).",
)
@click.option(
    "-o",
    "--out",
    "out",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Directory to write the files into (created if needed).",
)
@task_option
@pin_option
@click.option(
    "--decisions",
    "decisions_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help='Skip the optimizer: a JSON object of every decision ("move.x": 1, ...).',
)
@click.option(
    "--allow-infeasible",
    is_flag=True,
    help="Write the code even when the plan meets no requirement (it exits 0 then).",
)
def command(
    file: Path,
    defines: dict[str, str],
    target: str,
    out: Path,
    task_name: str | None,
    pins: tuple[str, ...],
    decisions_file: Path | None,
    allow_infeasible: bool,
) -> None:
    """Compile the optimized plan of spec FILE into runnable code for a target.

    Prints the plan summary (stages, decisions, prediction) and the files written. When no
    plan meets the requirements it says why and exits 1 without writing anything, unless
    --allow-infeasible is given (then it writes the most reliable plan's code).
    """
    from aalp.api import compile as emit
    from aalp.backends.base import write
    from aalp.backends.header import header_lines
    from aalp.backends.registry import UnknownTarget
    from aalp.backends.view import PlanError
    from aalp.checks.loader import FileProblem, read_text_file

    decisions = None
    if decisions_file is not None:
        try:
            decisions = json.loads(read_text_file(decisions_file))
        except FileProblem as err:
            raise click.BadParameter(
                f"cannot read {decisions_file}: {err.problem}", param_hint="'--decisions'"
            ) from None
        except json.JSONDecodeError as err:
            raise click.BadParameter(
                f"cannot read {decisions_file}: {err}", param_hint="'--decisions'"
            ) from None
        if not isinstance(decisions, dict):
            raise click.BadParameter("expected a JSON object", param_hint="'--decisions'")
    checked = load_or_exit(file, defines)
    try:
        compiled = emit(checked, target, task_name, pins, decisions)
    except UnknownTarget as err:
        raise click.BadParameter(one_line(err), param_hint="'--target'") from None
    except PlanError as err:
        print_error(err, file)
        raise click.exceptions.Exit(EXIT_SPEC) from None
    for line in header_lines(compiled.view):
        click.echo(line)
    if not compiled.resolved.feasible:
        why = "; ".join(compiled.resolved.why) or "it does not meet the requirements"
        if not allow_infeasible:
            click.echo(f"{file}: error: no plan meets the requirements: {why}", err=True)
            click.echo(
                "hint: --allow-infeasible writes the most reliable plan's code anyway", err=True
            )
            raise click.exceptions.Exit(EXIT_SPEC)
        click.echo(f"warning: the plan does not meet the requirements: {why}", err=True)
    for warning in compiled.warnings:
        click.echo(f"warning: {warning}", err=True)
    click.echo("")
    try:
        written = write(compiled.files, str(out))
    except OSError as err:
        raise click.ClickException(
            f"cannot write to {out}: {err.strerror or err}; choose another -o directory"
        ) from None
    for path in written:
        click.echo(f"wrote {path}")
