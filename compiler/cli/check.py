"""``aalp check FILE...``: parse and check specs, print every diagnostic."""

from __future__ import annotations

import json
from pathlib import Path

import click
from aalp.cli.common import EXIT_OK, EXIT_SPEC, print_diagnostics, source_of, usage_failure
from aalp.cli.inputs import display_name, load_spec
from aalp.cli.options import calibration_option, define_option, format_option, specs_argument


def _calibrated(checked: object, calibration: Path, confidence: float | None) -> object:
    """The spec with the calibration applied; its warnings join the spec's (printed below)."""
    from aalp.calibration import apply, schema

    try:
        read = schema.read(calibration)
        side = "estimate" if confidence is None else "pessimistic"
        return apply.apply(checked, read, None, side, confidence or 0.95, str(calibration)).checked
    except schema.CalibrationError as err:
        raise usage_failure(err) from None


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


@click.command("check")
@specs_argument
@define_option
@format_option(help="Diagnostics for people (on stderr), or every result as JSON (on stdout).")
@calibration_option
def command(
    files: tuple[Path, ...],
    defines: dict[str, str],
    fmt: str,
    calibration: Path | None = None,
    confidence: float | None = None,
) -> None:
    """Check spec FILEs: names, types, units, ranges and capabilities.

    Prints every error and warning with its position and a hint, then one summary line per
    file (FILE - reads standard input). Exits 1 if any spec has errors, 2 on bad usage (such
    as -D of an unknown parameter).
    """
    from aalp.diagnostics import SpecError, UsageError, has_errors

    if confidence is not None and calibration is None:
        raise click.UsageError("--confidence needs --calibration FILE")

    results = []
    failed = 0
    for file in files:
        try:
            checked = load_spec(file, defines)
        except UsageError as err:
            raise usage_failure(err) from None
        except SpecError as err:
            diagnostics, tasks, env = err.diagnostics, [], {}
        else:
            if calibration is not None:
                checked = _calibrated(checked, calibration, confidence)
            diagnostics = list(checked.diagnostics)
            tasks = [t.name for t in checked.spec.tasks]
            env = {name: str(value) for name, value in checked.env.items()}
        bad = has_errors(diagnostics)
        failed += bad
        results.append(
            {
                "file": display_name(file),
                "ok": not bad,
                "tasks": tasks,
                "env": env,
                "diagnostics": [d.to_json() for d in diagnostics],
            }
        )
        if fmt == "json":
            continue
        print_diagnostics(diagnostics, source_of(file))
        if bad:
            errors = sum(d.severity == "error" for d in diagnostics)
            click.echo(f"failed: {display_name(file)}: {_plural(errors, 'error')}", err=True)
        else:
            warnings = sum(d.severity == "warning" for d in diagnostics)
            names = ", ".join(tasks)
            click.echo(
                f"ok: {display_name(file)}: {_plural(len(tasks), 'task')}"
                + (f" ({names})" if names else "")
                + (f", {_plural(warnings, 'warning')}" if warnings else "")
            )
    if fmt == "json":
        click.echo(json.dumps(results, indent=2))
    elif len(files) > 1:
        ok = len(files) - failed
        click.echo(f"checked {_plural(len(files), 'file')}: {ok} ok, {failed} failed")
    raise click.exceptions.Exit(EXIT_SPEC if failed else EXIT_OK)
