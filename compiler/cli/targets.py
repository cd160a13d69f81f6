"""``aalp targets``: the code-generation targets, one line each."""

from __future__ import annotations

import click


@click.command("targets")
def command() -> None:
    """List the targets `aalp compile --target` accepts."""
    from aalp.backends.registry import DEFAULT_TARGET, describe

    rows = describe()
    width = max(len(name) for name, _ in rows)
    for name, text in rows:
        mark = " (default)" if name == DEFAULT_TARGET else ""
        click.echo(f"{name:<{width}}  {text}{mark}")
