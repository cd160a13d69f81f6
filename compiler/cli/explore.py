"""``aalp explore FILE``: the interactive explorer in the browser."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from aalp.cli.options import (
    calibration_option,
    define_option,
    format_option,
    port_option,
    timeout_option,
)


@click.command("explore")
# not '-': the page saves the spec back to its file and reads prompt files beside it
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@port_option()
@click.option("--no-browser", is_flag=True, help="Do not open a browser; just print the URL.")
@timeout_option(
    20.0,
    "How long an optimization may take, waiting included, before the page is told "
    "it is too slow (and shown the last plan found for the same spec text).",
)
@define_option
@format_option(help="What is served, as a line for people or one JSON object for tools.")
@calibration_option
def command(
    file: Path,
    port: int,
    no_browser: bool,
    timeout: float,
    defines: dict[str, str],
    fmt: str,
    calibration: Path | None = None,
    confidence: float | None = None,
) -> None:
    """Explore FILE's optimal plans interactively: edit the spec, move sliders for sizes and
    probabilities, see the plan tree, the Pareto frontier and cost growth change live.

    -D NAME=VALUE sets where the parameter sliders start. The server listens on 127.0.0.1
    only and runs each optimization in a worker process, stopped when its time is up or its
    client goes away; stop the server with Ctrl-C.
    """
    try:
        import starlette  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError:
        raise click.ClickException(
            "aalp explore needs Starlette and Uvicorn, which install with aalp: "
            "pip install 'starlette>=0.37' 'uvicorn>=0.30'"
        ) from None
    from aalp.checks.loader import FileProblem, read_text_file
    from aalp.explore.server import Document, Limits, Server

    try:
        text = read_text_file(file)
    except FileProblem as err:
        raise click.UsageError(f"cannot read {file}: {err.problem}") from None
    try:
        limits = Limits(timeout)
    except ValueError as err:  # click lets "nan" through its range
        raise click.BadParameter(str(err), param_hint="'--timeout'") from None
    measured = _calibration_text(file, text, defines, calibration, confidence)
    document = Document(str(file), file, text, dict(defines), measured, confidence)
    server = Server(document, port, limits)
    try:
        server.start()
    except OSError as err:
        click.echo(f"error: {err}", err=True)
        sys.exit(1)
    if fmt == "json":
        click.echo(json.dumps({"file": str(file), "url": server.url}, sort_keys=True))
    else:
        click.echo(f"aalp explore: serving {file} at {server.url} (Ctrl-C to stop)")
    if not no_browser:
        import webbrowser

        webbrowser.open(server.url)
    try:
        server.wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


def _calibration_text(
    file: Path,
    text: str,
    defines: dict[str, str],
    calibration: Path | None,
    confidence: float | None,
) -> str | None:
    """The ``--calibration`` file's text, checked against the spec once at start (a file that
    does not fit is a usage error here, not on every request)."""
    if calibration is None:
        if confidence is not None:
            raise click.UsageError("--confidence needs --calibration FILE")
        return None
    from aalp.calibration import apply, schema
    from aalp.checks.loader import FileProblem, read_text_file
    from aalp.cli.common import load_or_exit, usage_failure

    try:
        measured = read_text_file(calibration)
        apply.apply(load_or_exit(file, defines), schema.parse(measured, str(calibration)))
    except FileProblem as err:
        raise click.UsageError(f"cannot read {calibration}: {err.problem}") from None
    except schema.CalibrationError as err:
        raise usage_failure(err) from None
    return measured
