"""``aalp fmt FILE...``: print specs in canonical form, or check/rewrite them in place."""

from __future__ import annotations

from pathlib import Path

import click
from aalp.cli.common import EXIT_OK, EXIT_SPEC, print_diagnostics, source_of, specs_argument


@click.command("fmt")
@specs_argument
@click.option("--check", "check_only", is_flag=True, help="Exit 1 if a file is not formatted.")
@click.option("--write", is_flag=True, help="Rewrite files in place.")
def command(files: tuple[Path, ...], check_only: bool, write: bool) -> None:
    """Format spec FILEs in the canonical layout.

    Without options prints the formatted spec on stdout (one FILE only). --check lists the
    files that would change and exits 1 if there are any (for CI); --write rewrites them.
    """
    from aalp.checks.loader import read_source
    from aalp.diagnostics import SpecError
    from aalp.front.parser import parse
    from aalp.front.printer import format_spec

    if check_only and write:
        raise click.UsageError("--check and --write cannot be used together")
    if not (check_only or write) and len(files) > 1:
        raise click.UsageError("formatting several files needs --write or --check")
    failed = changed = 0
    for file in files:
        try:
            source = read_source(file)
            formatted = format_spec(parse(source, str(file)))
        except SpecError as err:
            print_diagnostics(err.diagnostics, _source_or_none(file))
            failed += 1
            continue
        if not (check_only or write):
            click.echo(formatted, nl=False)
        elif formatted != source:
            changed += 1
            if write:
                Path(file).write_text(formatted, encoding="utf-8")
                click.echo(f"reformatted {file}")
            else:
                click.echo(f"would reformat {file}")
    if check_only or write:
        done = "would reformat" if check_only else "reformatted"
        click.echo(f"{done} {changed} of {len(files)} file{'s' * (len(files) != 1)}", err=True)
    if failed or (check_only and changed):
        raise click.exceptions.Exit(EXIT_SPEC)
    raise click.exceptions.Exit(EXIT_OK)


def _source_or_none(file: Path) -> str | None:
    return source_of(file)
