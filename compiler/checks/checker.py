"""The check pass: names, types, units and ranges of a parsed spec.

``check(spec, overrides)`` applies ``-D`` overrides, evaluates every parameter and data size, and
collects *all* problems (never just the first) as diagnostics with stable codes (the table is in
``aalp.codes``). Errors raise ``SpecError``; warnings and notes come back in ``Checked``.

The checks are plain functions of a ``Context`` (one file per concept: names, params, models,
ops, stages, boosters, requirements, pins, windows, unused), run in the order below; the order
decides which of two overlapping diagnostics is kept, so it is part of the behaviour.

The pass is structural and numeric only: it evaluates formulas at the ends of their ``x`` range
with exact fractions where it can, and never imports the heavy libraries (sympy, ortools, ...),
so ``aalp check`` stays fast.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from aalp.checks.boosters import check_boosters
from aalp.checks.context import Context, TaskContext
from aalp.checks.models import check_capabilities, check_models
from aalp.checks.names import check_duplicates, check_has_task, check_reserved
from aalp.checks.nesting import check_nesting
from aalp.checks.ops import check_ops
from aalp.checks.overrides import apply_overrides
from aalp.checks.params import check_data, check_params
from aalp.checks.pins import check_pins_and_baselines
from aalp.checks.ranges import compute_x_ranges
from aalp.checks.repeat import check_repeats
from aalp.checks.requirements import check_objective, check_requirements, check_workers
from aalp.checks.speeds import check_seconds, check_speeds
from aalp.checks.stages import check_stages
from aalp.checks.tools import check_tool_ops, check_tools
from aalp.checks.unused import check_unused, check_unused_ops, drop_unused_if_errors
from aalp.diagnostics import Diagnostic, SpecError, UsageError, has_errors, sort_key
from aalp.front.expr import Number
from aalp.front.ir import Spec
from aalp.front.nesting import flatten_spec

# The checks inside one task, in order (the x ranges first: the op, stage and pin checks use
# them).
TASK_CHECKS: tuple[Callable[[TaskContext], None], ...] = (
    compute_x_ranges,
    check_ops,
    check_stages,
    check_nesting,
    check_repeats,
    check_boosters,
    check_tool_ops,
    check_workers,
    check_requirements,
    check_objective,
    check_seconds,
    check_pins_and_baselines,
    check_unused_ops,
)


@dataclass(frozen=True)
class Checked:
    """A spec that passed the checks.

    ``env`` maps every parameter and every data name to its value after ``-D`` overrides (a
    ``Fraction`` when exact, else a finite float); ``diagnostics`` holds the warnings and notes;
    ``prompt_dir`` is the folder its prompt files were read from (set by ``checks.loader``; None
    means the folder of ``spec.file``, if it has one).
    """

    spec: Spec
    env: Mapping[str, Number]
    diagnostics: tuple[Diagnostic, ...] = field(default=())
    prompt_dir: Path | None = None


def check(spec: Spec, overrides: Mapping[str, object] | None = None) -> Checked:
    """Check ``spec`` with ``-D`` ``overrides`` (name -> formula text, number or ``Expr``).

    Raise ``UsageError`` if an override names an unknown parameter or is not a formula, and
    ``SpecError`` carrying every diagnostic (errors and warnings, in source order) if the spec
    has errors; otherwise return the ``Checked`` spec with its warnings.
    """
    spec = flatten_spec(spec)  # nested stages: flat, with Task.within (aalp.front.nesting)
    c = Context(spec)
    params = apply_overrides(c, overrides or {})
    check_has_task(c)
    check_duplicates(c)
    check_reserved(c)
    check_params(c, params)
    check_data(c)
    check_models(c)
    check_speeds(c)
    check_tools(c)
    check_capabilities(c)
    for task in spec.tasks:
        t = TaskContext.of(c, task)
        for rule in TASK_CHECKS:
            rule(t)
    check_unused(c)
    drop_unused_if_errors(c)
    if c.usage:  # an override whose value cannot be computed: the command line's fault
        raise UsageError(c.usage)
    diags = sorted(c.diags, key=sort_key)
    if has_errors(diags):
        raise SpecError(diags)
    return Checked(spec=spec, env=dict(c.env), diagnostics=tuple(diags))
