"""The ``aalp`` command line: a click group whose sub-commands load lazily.

Each command lives in ``compiler/commands/<name>.py`` as a click command named ``command`` and
is registered by one line in ``COMMANDS``; only the command being run is imported, so
``aalp check`` never pays for the optimizer's or the backends' imports.

Exit codes: 0 ok, 1 the spec has errors (or ``fmt --check`` found changes), 2 bad usage,
3 an internal error (a bug in aalp: reported in one line, never as a traceback).
"""

from __future__ import annotations

import importlib
import os
import sys

import click
from aalp.suggest import did_you_mean

#: Sub-command name -> "module:attribute" of its click command.
COMMANDS: dict[str, str] = {
    "calibrate": "aalp.cli.calibrate:command",
    "check": "aalp.cli.check:command",
    "compile": "aalp.cli.compile:command",
    "explain": "aalp.cli.explain:command",
    "explore": "aalp.cli.explore:command",
    "fmt": "aalp.cli.fmt:command",
    "graph": "aalp.cli.graph:command",
    "parse": "aalp.cli.parse:command",
    "serve-sim": "aalp.cli.serve_sim:command",
    "simulate": "aalp.cli.simulate:command",
    "targets": "aalp.cli.targets:command",
}

EXIT_OK, EXIT_SPEC, EXIT_USAGE, EXIT_INTERNAL = 0, 1, 2, 3


class LazyGroup(click.Group):
    """A group that imports a sub-command only when it is run (or listed by ``--help``)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, _, attr = target.partition(":")
        command = getattr(importlib.import_module(module_name), attr)
        if not isinstance(command, click.Command):
            raise TypeError(f"{target} is not a click command")
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """List every command with its one-line help; a command whose module fails to import
        is listed as unavailable instead of breaking ``--help`` for all the others."""
        rows = []
        for name in self.list_commands(ctx):
            try:
                command = self.get_command(ctx, name)
            except Exception as err:  # a broken command must not hide the working ones
                rows.append((name, f"(unavailable: {type(err).__name__}: {err})"))
                continue
            if command is not None and not command.hidden:
                rows.append((name, command.get_short_help_str(formatter.width - 6 - len(name))))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        name = args[0] if args else ""
        if name and not name.startswith("-") and name not in COMMANDS:
            hint = did_you_mean(name, COMMANDS, "command")
            ctx.fail(f"no such command '{name}'; {hint}")
        return super().resolve_command(ctx, args)


@click.group(
    cls=LazyGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(package_name="aalp", prog_name="aalp")
def cli() -> None:
    """aalp: an optimizing compiler from declarative task specs to LLM-agent topologies.

    Write a spec (*.aalp) describing a task, its models and what each call can do; aalp checks
    it, finds the cheapest decomposition that meets the reliability target, explains its cost,
    and emits runnable orchestration code.
    """


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``aalp`` script: run the CLI and map every outcome to an exit code."""
    try:
        code = cli.main(args=argv, prog_name="aalp", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        code = EXIT_SPEC
    except click.ClickException as err:  # usage errors: click prints them and uses exit code 2
        err.show()
        code = err.exit_code
    except click.exceptions.Exit as err:
        code = err.exit_code
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        code = 130
    except BrokenPipeError:
        # the reader went away (``aalp parse --json f | head``): stop quietly
        sys.stderr.close()
        code = EXIT_SPEC
    except Exception as err:  # a bug in aalp: never show the user a traceback
        if os.environ.get("AALP_DEBUG"):
            raise
        message = str(err).splitlines()[0] if str(err) else ""
        click.echo(f"aalp: internal error: {type(err).__name__}: {message}".rstrip(": "), err=True)
        click.echo(
            "hint: this is a bug in aalp; please report it with the command and the spec that "
            "caused it (AALP_DEBUG=1 shows the traceback)",
            err=True,
        )
        code = EXIT_INTERNAL
    sys.exit(code if isinstance(code, int) else EXIT_OK)


if __name__ == "__main__":  # pragma: no cover
    main()
