"""``aalp fmt FILE...``: print specs in canonical form, or check/rewrite them in place."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
from aalp.cli.common import EXIT_OK, EXIT_SPEC, print_diagnostics, source_of
from aalp.cli.inputs import display_name, is_stdin, spec_text
from aalp.cli.options import format_option, specs_argument


@click.command("fmt")
@specs_argument
@click.option("--check", "check_only", is_flag=True, help="Exit 1 if a file is not formatted.")
@click.option("--write", is_flag=True, help="Rewrite files in place.")
@format_option(
    help="The formatted text (or what changed) for people, or per file its formatted text, "
    "whether it changed and its diagnostics as JSON."
)
def command(files: tuple[Path, ...], check_only: bool, write: bool, fmt: str) -> None:
    """Format spec FILEs in the canonical layout (FILE - reads standard input).

    Without options prints the formatted spec on stdout (one FILE only). --check lists the
    files that would change and exits 1 if there are any (for CI); --write rewrites them.
    """
    if check_only and write:
        raise click.UsageError("--check and --write cannot be used together")
    if not (check_only or write) and len(files) > 1 and fmt == "text":
        raise click.UsageError("formatting several files needs --write, --check or --format json")
    if write and any(is_stdin(f) for f in files):
        raise click.UsageError("standard input ('-') cannot be rewritten in place: drop --write")
    results = [_format_one(file, check_only, write, fmt == "text") for file in files]
    changed = sum(bool(r["changed"]) for r in results)
    failed = sum(not r["ok"] for r in results)
    if fmt == "json":
        click.echo(json.dumps(results, indent=2, ensure_ascii=False))
    elif check_only or write:
        done = "would reformat" if check_only else "reformatted"
        click.echo(f"{done} {changed} of {len(files)} file{'s' * (len(files) != 1)}", err=True)
    if failed or (check_only and changed):
        raise click.exceptions.Exit(EXIT_SPEC)
    raise click.exceptions.Exit(EXIT_OK)


def _format_one(file: Path, check_only: bool, write: bool, text: bool) -> dict[str, Any]:
    """Format one file: print (text mode) and rewrite as asked; the file's JSON result."""
    from aalp.diagnostics import SpecError
    from aalp.front.parser import parse
    from aalp.front.printer import format_spec

    name = display_name(file)
    try:
        source = spec_text(file)
        formatted = format_spec(parse(source, name))
    except SpecError as err:
        if text:
            print_diagnostics(err.diagnostics, source_of(file))
        diagnostics = [d.to_json() for d in err.diagnostics]
        return {"file": name, "ok": False, "changed": None, "diagnostics": diagnostics}
    changed = formatted != source
    if text and not (check_only or write):
        click.echo(formatted, nl=False)
    elif changed and write:
        Path(file).write_text(formatted, encoding="utf-8")
        if text:
            click.echo(f"reformatted {name}")
    elif changed and text:
        click.echo(f"would reformat {name}")
    out = {"file": name, "ok": True, "changed": changed, "diagnostics": []}
    return out if check_only else out | {"formatted": formatted}
