"""``aalp explore FILE``: the interactive explorer in the browser."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from aalp.cli.options import define_option, format_option, port_option, timeout_option


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
def command(
    file: Path, port: int, no_browser: bool, timeout: float, defines: dict[str, str], fmt: str
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
    server = Server(Document(str(file), file, text, dict(defines)), port, limits)
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
