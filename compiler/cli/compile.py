"""``aalp compile FILE [-D ...] [--target NAME] -o DIR|- [--pin OP.FIELD=VALUE]...``."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click
from aalp.cli.calibrated import calibrated
from aalp.cli.common import EXIT_SPEC, load_or_exit, one_line, print_error
from aalp.cli.inputs import display_name, is_stdin
from aalp.cli.options import (
    calibration_option,
    decisions_option,
    define_option,
    format_option,
    pin_option,
    spec_argument,
    target_option,
    task_option,
)


@click.command("compile")
@spec_argument
@define_option
@target_option
@click.option(
    "-o",
    "--out",
    "out",
    required=True,
    type=click.Path(file_okay=False, path_type=Path, allow_dash=True),
    help="Directory to write the files into (created if needed); - writes them to standard "
    "output as one zip archive.",
)
@task_option
@pin_option
@decisions_option
@calibration_option
@click.option(
    "--allow-infeasible",
    is_flag=True,
    help="Write the code even when the plan meets no requirement (it exits 0 then).",
)
@format_option(help="The plan's summary and the files written for people, or as JSON.")
def command(
    file: Path,
    defines: dict[str, str],
    target: str,
    out: Path,
    task_name: str | None,
    pins: tuple[str, ...],
    decisions: dict[str, Any] | None,
    allow_infeasible: bool,
    fmt: str,
    calibration: Path | None = None,
    confidence: float | None = None,
) -> None:
    """Compile the optimized plan of spec FILE (- for standard input) into runnable code.

    Prints the plan summary (stages, decisions, prediction) and the files written. When no
    plan meets the requirements it says why and exits 1 without writing anything, unless
    --allow-infeasible is given (then it writes the most reliable plan's code).
    """
    if is_stdin(out) and fmt == "json":
        raise click.UsageError("-o - writes the archive to standard output: drop --format json")
    compiled = _compile(
        file, defines, target, task_name, pins, decisions, (calibration, confidence)
    )
    summary = _summary(compiled, target)
    if not compiled.resolved.feasible and not allow_infeasible:
        why = summary["why"]
        click.echo(f"{display_name(file)}: error: no plan meets the requirements: {why}", err=True)
        click.echo("hint: --allow-infeasible writes the most reliable plan's code anyway", err=True)
        raise click.exceptions.Exit(EXIT_SPEC)
    if fmt == "text" and not is_stdin(out):
        for line in summary["header"]:
            click.echo(line)
    if not compiled.resolved.feasible:
        click.echo(f"warning: the plan does not meet the requirements: {summary['why']}", err=True)
    for warning in compiled.warnings:
        click.echo(f"warning: {warning}", err=True)
    written = _write(compiled.files, out)
    if fmt == "json":
        click.echo(json.dumps(summary | {"files": written}, indent=2, ensure_ascii=False))
    elif not is_stdin(out):
        click.echo("")
        for path in written:
            click.echo(f"wrote {path}")


def _compile(
    file: Path,
    defines: dict[str, str],
    target: str,
    task_name: str | None,
    pins: tuple[str, ...],
    decisions: dict[str, Any] | None,
    measured: tuple[Path | None, float | None] = (None, None),
) -> Any:
    """The compiled plan, or the command's exit with the reason (``measured``: the
    ``--calibration`` file and ``--confidence``)."""
    from aalp.api import compile as emit
    from aalp.backends.registry import UnknownTarget
    from aalp.backends.view import PlanError

    checked = calibrated(load_or_exit(file, defines), file, *measured, task_name)
    try:
        return emit(checked, target, task_name, pins, decisions)
    except UnknownTarget as err:
        raise click.BadParameter(one_line(err), param_hint="'--target'") from None
    except PlanError as err:
        print_error(err, file)
        raise click.exceptions.Exit(EXIT_SPEC) from None


def _summary(compiled: Any, target: str) -> dict[str, Any]:
    """What compile says of the plan: its header lines, feasibility and warnings."""
    from aalp.backends.header import header_lines

    resolved = compiled.resolved
    return {
        "target": target,
        "feasible": bool(resolved.feasible),
        "why": "; ".join(resolved.why) or "it does not meet the requirements",
        "header": list(header_lines(compiled.view)),
        "warnings": list(compiled.warnings),
    }


def _write(files: list[Any], out: Path) -> list[str]:
    """Write ``files`` under ``out`` (``-``: a zip on standard output); the paths written."""
    from aalp.backends.base import archive, write

    if is_stdin(out):
        sys.stdout.buffer.write(archive(files))
        sys.stdout.buffer.flush()
        return [f.path for f in files]
    try:
        return write(files, str(out))
    except OSError as err:
        raise click.ClickException(
            f"cannot write to {out}: {err.strerror or err}; choose another -o directory"
        ) from None
