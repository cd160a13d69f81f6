"""``aalp parse FILE``: the parsed IR, as JSON for tools."""

from __future__ import annotations

import json
from pathlib import Path

import click
from aalp.cli.common import EXIT_OK, EXIT_SPEC, print_diagnostics, source_of, spec_argument


@click.command("parse")
@spec_argument
@click.option("--json", "as_json", is_flag=True, help="Print the IR as JSON (for tools).")
def command(file: Path, as_json: bool) -> None:
    """Parse spec FILE and print its IR (the syntax only).

    Run 'aalp check' for the semantics. With --json prints the IR as JSON with source
    positions; otherwise the Python form.
    """
    from aalp.checks.loader import read_source
    from aalp.diagnostics import SpecError
    from aalp.front.parser import parse

    try:
        spec = parse(read_source(file), str(file))
    except SpecError as err:
        print_diagnostics(err.diagnostics, source_of(file))
        raise click.exceptions.Exit(EXIT_SPEC) from None
    if as_json:
        from aalp.front.serialize import spec_to_json

        click.echo(json.dumps(spec_to_json(spec), indent=2, ensure_ascii=False))
    else:
        import pprint

        click.echo(pprint.pformat(spec, width=100))
    raise click.exceptions.Exit(EXIT_OK)
