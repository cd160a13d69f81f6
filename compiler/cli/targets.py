"""``aalp targets``: the code-generation targets, one line each."""

from __future__ import annotations

import json

import click
from aalp.cli.options import format_option


@click.command("targets")
@format_option(help="One line per target for people, or a JSON list for tools.")
def command(fmt: str) -> None:
    """List the targets `aalp compile --target` accepts."""
    from aalp.backends.registry import DEFAULT_TARGET, describe

    rows = describe()
    if fmt == "json":
        listed = [
            {"name": name, "description": text, "default": name == DEFAULT_TARGET}
            for name, text in rows
        ]
        click.echo(json.dumps(listed, indent=2))
        return
    width = max(len(name) for name, _ in rows)
    for name, text in rows:
        mark = " (default)" if name == DEFAULT_TARGET else ""
        click.echo(f"{name:<{width}}  {text}{mark}")
