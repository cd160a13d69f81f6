"""``aalp parse FILE``: the parsed IR, as JSON for tools."""

from __future__ import annotations

import json
from pathlib import Path

import click
from aalp.cli.common import EXIT_OK, EXIT_SPEC, print_diagnostics, source_of
from aalp.cli.inputs import display_name, spec_text
from aalp.cli.options import format_option, spec_argument


@click.command("parse")
@spec_argument
@format_option(help="The IR in Python's notation for people, or as JSON for tools.")
def command(file: Path, fmt: str) -> None:
    """Parse spec FILE and print its IR (the syntax only; FILE - reads standard input).

    Run 'aalp check' for the semantics. With --format json prints the IR as JSON with source
    positions; otherwise the Python form.
    """
    from aalp.diagnostics import SpecError
    from aalp.front.parser import parse

    try:
        spec = parse(spec_text(file), display_name(file))
    except SpecError as err:
        print_diagnostics(err.diagnostics, source_of(file))
        raise click.exceptions.Exit(EXIT_SPEC) from None
    if fmt == "json":
        from aalp.front.serialize import spec_to_json

        click.echo(json.dumps(spec_to_json(spec), indent=2, ensure_ascii=False))
    else:
        import pprint

        click.echo(pprint.pformat(spec, width=100))
    raise click.exceptions.Exit(EXIT_OK)
