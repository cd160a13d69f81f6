"""``aalp calibrate FILE``: measure the task's ops on an endpoint (docs/calibration.md)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
from aalp.cli.common import EXIT_SPEC, load_or_exit, one_line, usage_failure
from aalp.cli.options import (
    confidence_option,
    define_option,
    format_option,
    oracle_option,
    seed_option,
    spec_argument,
    task_option,
)


def _pairs(_ctx: Any, _param: Any, values: tuple[str, ...]) -> dict[str, str]:
    out = {}
    for raw in values:
        name, sep, served = raw.partition("=")
        if not sep or not name.strip() or not served.strip():
            raise click.BadParameter(f"'{raw}' is not NAME=SERVED", param_hint="'--model-map'")
        out[name.strip()] = served.strip()
    return out


def _granularities(_ctx: Any, _param: Any, values: tuple[str, ...]) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {}
    for raw in values:
        op, sep, listed = raw.partition("=")
        try:
            xs = [int(v) for v in listed.split(",")]
        except ValueError:
            xs = []
        if not sep or not op.strip() or not xs or min(xs) < 1:
            raise click.BadParameter(f"'{raw}' is not OP=X1,X2,...", param_hint="'--x'")
        out[op.strip()] = sorted(set(xs))
    return out


def _apply_all(func: Any, options: list[Any]) -> Any:
    for option in reversed(options):
        func = option(func)
    return func


def _sampling_options(func: Any) -> Any:
    """Where the calls go and what they sample."""
    return _apply_all(
        func,
        [
            click.option("--base-url", default=None, help="The OpenAI-compatible endpoint."),
            click.option(
                "--examples",
                type=click.Path(path_type=Path, dir_okay=False),
                default=None,
                help='Labelled units, one JSON object a line: {"op", "request", "answer"}.',
            ),
            oracle_option("Says the right answer of a unit whose example has none."),
            click.option(
                "--x",
                "granularities",
                multiple=True,
                metavar="OP=X1,X2,...",
                callback=_granularities,
                help="Also sample a map op at these x: its examples' items cut into windows "
                "(labelled by --oracle).",
            ),
            click.option(
                "--model-map",
                "model_map",
                multiple=True,
                metavar="NAME=SERVED",
                callback=_pairs,
                help="The model id the endpoint serves for a spec's model.",
            ),
            click.option(
                "--budget-dollars",
                type=click.FloatRange(0),
                default=None,
                help="Refuse a calibration projected above this, and stop before passing it.",
            ),
            click.option(
                "--from-run",
                "from_run",
                type=click.Path(path_type=Path, dir_okay=False),
                default=None,
                help="Add a run's run-report.json to the counts (no calls).",
            ),
            click.option(
                "--add-to",
                "add_to",
                type=click.Path(path_type=Path, dir_okay=False),
                default=None,
                help="An earlier calibration the new counts are added to.",
            ),
            click.option(
                "-o",
                "--out",
                "out",
                type=click.Path(path_type=Path, dir_okay=False),
                default=Path("calibration.json"),
                show_default=True,
                help="The calibration file to write.",
            ),
        ],
    )


def _size_options(func: Any) -> Any:
    """How much is sampled, and when an op stops."""
    return _apply_all(
        func,
        [
            click.option(
                "--units",
                type=click.IntRange(1),
                default=100,
                show_default=True,
                help="At most this many units per op, model and x.",
            ),
            click.option(
                "--repeats",
                type=click.IntRange(2),
                default=2,
                show_default=True,
                help="Samples of every unit (two at least: correlated errors).",
            ),
            click.option(
                "--batch",
                type=click.IntRange(1),
                default=25,
                show_default=True,
                help="Units per x between two checks of the stopping rule.",
            ),
            click.option(
                "--no-early-stop",
                is_flag=True,
                help="Sample every unit; do not stop an op once its plan is settled.",
            ),
            click.option("--concurrency", type=click.IntRange(1), default=8, show_default=True),
            confidence_option,
        ],
    )


@click.command("calibrate")
@spec_argument
@define_option
@task_option
@seed_option
@_sampling_options
@_size_options
@format_option(help="What was measured, for people or as JSON.")
def command(
    file: Path, defines: dict[str, str], task_name: str | None, seed: int, fmt: str, **given: Any
) -> None:
    """Measure the ops of spec FILE's task (- for standard input) on an endpoint and write a
    calibration file.

    Samples labelled units (--examples) of every op on every model it may run on, each unit
    at least twice, at every granularity x the examples hold; prints the projected calls and
    dollars first and refuses a projection over --budget-dollars (exit 1). An op stops once
    its plan no longer depends on where its estimates lie in their intervals. With --from-run
    it adds a run report's counts instead of calling anything.
    """
    from aalp.calibrate import sample
    from aalp.calibration import schema
    from aalp.diagnostics import AalpError

    checked = load_or_exit(file, defines)
    task = _task(checked, task_name)
    settings = sample.Settings(
        units=given["units"],
        repeats=given["repeats"],
        batch=given["batch"],
        seed=seed,
        confidence=given["confidence"] or 0.95,
        budget=given["budget_dollars"],
        model_map=given["model_map"],
        concurrency=given["concurrency"],
    )
    try:
        if given["from_run"] is not None:
            calibration = _from_run(checked, task, given, file)
        else:
            calibration = _sample(checked, task, settings, given, file)
        if given["add_to"] is not None:
            calibration = _merged(schema.read(given["add_to"]), calibration)
    except sample.OverBudget as err:
        click.echo(f"error: {one_line(err)}", err=True)
        raise click.exceptions.Exit(EXIT_SPEC) from None
    except AalpError as err:
        raise usage_failure(err) from None
    _write(checked, task, calibration, given, fmt)


def _task(checked: Any, task_name: str | None) -> Any:
    tasks = [t for t in checked.spec.tasks if task_name is None or t.name == task_name]
    if not tasks:
        raise click.BadParameter(f"no task named {task_name!r}", param_hint="'--task'")
    return tasks[0]


def _sample(checked: Any, task: Any, settings: Any, given: dict[str, Any], file: Path) -> Any:
    from aalp.calibrate import examples, sample
    from aalp.calibrate.endpoint import HttpEndpoint

    if given["base_url"] is None or given["examples"] is None:
        raise click.UsageError("calibrate needs --base-url and --examples (or --from-run)")
    units = examples.read(given["examples"], {o.name for o in task.ops})
    for op, xs in given["granularities"].items():
        if op not in {o.name for o in task.ops}:
            raise click.BadParameter(f"no op '{op}' in task {task.name!r}", param_hint="'--x'")
        if given["custom"] is None:
            raise click.UsageError("--x cuts new units, which need --oracle to label them")
        units += examples.regranulate(units, op, xs, settings.units, settings.seed)
    found = sample.strata(checked, task, units, settings)
    projected = sample.projection(checked, task, found, settings)
    click.echo(
        f"calibration of task {task.name!r}: at most {projected['calls']} calls, about "
        f"${projected['dollars']:.4g} (the spec's token counts at list prices)",
        err=True,
    )
    for op in sorted({s.op for s in found}):
        xs = sorted({s.x for s in found if s.op == op})
        if task.op(op).granularity is not None and len(xs) < 2:
            click.echo(
                f"note: op {op}: its x is free but the examples hold one granularity (x = "
                f"{xs[0]}): its success keeps the spec's shape in x (give units at two x or "
                "more to measure it)",
                err=True,
            )
    if settings.budget is not None and projected["dollars"] > settings.budget:
        raise sample.OverBudget(
            f"the calibration is projected at ${projected['dollars']:.4g}, over "
            f"--budget-dollars {settings.budget:g}",
            hint="fewer --units, fewer examples, or a larger budget",
        )
    from aalp.calibrate.robust import settled_rule

    settled = (
        None if given["no_early_stop"] else settled_rule(checked, task.name, settings.confidence)
    )
    provenance = {
        "spec": Path(str(file)).name,
        "endpoint": given["base_url"],
        "date": sample.now(),
        "projected": projected,
    }
    return sample.run(
        checked,
        task,
        units,
        HttpEndpoint(given["base_url"]),
        settings,
        given["custom"],
        settled,
        provenance,
        log=lambda line: None,
    )


def _from_run(checked: Any, task: Any, given: dict[str, Any], file: Path) -> Any:
    from aalp.calibrate.from_run import calibration_of_report

    return calibration_of_report(checked, task, given["from_run"], given["model_map"])


def _merged(old: Any, new: Any) -> Any:
    from aalp.calibrate.from_run import merge

    return merge(old, new)


def _write(checked: Any, task: Any, calibration: Any, given: dict[str, Any], fmt: str) -> None:
    from aalp.calibrate.summary import estimates, render
    from aalp.front.numbers import float_env

    level = given["confidence"] or 0.95
    summary = estimates(calibration, task, float_env(checked.env), level)
    calibration.estimates = {"confidence": level, "ops": summary}
    output: Path = given["out"]
    try:
        output.write_text(calibration.to_json(), encoding="utf-8")
    except OSError as err:
        click.echo(f"error: cannot write {output}: {err.strerror or err}", err=True)
        raise click.exceptions.Exit(EXIT_SPEC) from None
    if fmt == "json":
        click.echo(
            json.dumps({"file": str(output), "estimates": summary}, indent=2, sort_keys=True)
        )
    else:
        click.echo(render(summary, level), nl=False)
        click.echo(f"wrote {output}")
