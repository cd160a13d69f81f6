"""What the checks share while walking one spec: the diagnostics found so far, the values
computed so far and, inside a task, the task's names and x ranges.

Every check is a plain function of a ``Context`` (spec-wide checks) or a ``TaskContext`` (the
checks inside one task); these two objects are the only state of the pass.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from aalp.diagnostics import Diagnostic, Severity
from aalp.front.expr import Number
from aalp.front.ir import (
    NO_SPAN,
    ChainStage,
    Data,
    Expr,
    MapStage,
    Op,
    ReduceStage,
    RouteStage,
    Span,
    Spec,
    Task,
    checking_op,
)

# Where a diagnostic about a ``-D`` override points: the command line, not the spec.
COMMAND_LINE = Span("<command line>", 0, 0, 0, 0)


def at(node: object, fallback: Span) -> Span:
    """The span of ``node``, or ``fallback`` when it has none."""
    span = getattr(node, "span", NO_SPAN)
    return span if span.line > 0 else fallback


@dataclass
class Context:
    """The state of the check of one spec."""

    spec: Spec
    diags: list[Diagnostic] = field(default_factory=list)
    # every parameter and data name with a value so far
    env: dict[str, Number] = field(default_factory=dict)
    # Names whose value could not be computed: formulas using them are not evaluated, so one
    # mistake is reported once rather than at every use.
    broken: set[str] = field(default_factory=set)
    used: set[str] = field(default_factory=set)  # params and data referenced anywhere
    param_scope: dict[str, str] = field(default_factory=dict)  # name -> what it is
    overridden: dict[str, Expr] = field(default_factory=dict)  # the -D formulas, by name
    override_text: dict[str, str] = field(default_factory=dict)  # the -D values as given
    usage: list[Diagnostic] = field(default_factory=list)  # overrides with no value

    def report(
        self, severity: Severity, code: str, message: str, span: Span, hint: str = ""
    ) -> None:
        if span.line <= 0 and span is not COMMAND_LINE:
            span = Span(self.spec.file, 0, 0, 0, 0)
        self.diags.append(Diagnostic(severity, code, message, span, hint))

    def error(self, code: str, message: str, span: Span, hint: str = "") -> None:
        self.report("error", code, message, span, hint)

    def warn(self, code: str, message: str, span: Span, hint: str = "") -> None:
        self.report("warning", code, message, span, hint)


@dataclass
class TaskContext:
    """The state of the checks inside one task: its spec's ``Context`` as ``c``, the names a
    formula of the task may use, its ops and data by name (the first declaration of each),
    and each op's range of x (filled in by ``ranges.compute_x_ranges``)."""

    c: Context
    task: Task
    scope: dict[str, str]
    ops: dict[str, Op]
    data: dict[str, Data]
    reduced: set[str]  # ops a reduce stage runs
    chained: set[str]  # ops a chain stage runs
    # op -> (1, largest x); None when the largest is unknown; no entry when the op has no x
    xrange: dict[str, tuple[Number, Number] | None] = field(default_factory=dict)

    @classmethod
    def of(cls, c: Context, task: Task) -> TaskContext:
        scope = dict(c.param_scope)
        for datum in task.data:
            scope.setdefault(datum.name, f"data of task '{task.name}'")
        first = {op.name: op for op in reversed(task.ops)}
        return cls(
            c=c,
            task=task,
            scope=scope,
            ops={name: first[name] for name in dict.fromkeys(o.name for o in task.ops)},
            data={d.name: d for d in reversed(task.data)},
            reduced={s.op for s in task.stages if isinstance(s, ReduceStage)},
            chained={o for s in task.stages if isinstance(s, ChainStage) for o in s.ops},
        )

    def span(self, node: object) -> Span:
        """The span of ``node``, or the task's when it has none."""
        return at(node, self.task.span)


def node_op(t: TaskContext, name: str) -> bool:
    """True when only reduce stages run op ``name`` (not a map, a chain, a router or a check):
    its formulas may then use ``fanin``, ``level`` and ``calls`` of the node it runs at."""
    if name not in t.reduced or name in t.chained:
        return False
    for stage in t.task.stages:
        if isinstance(stage, MapStage) and name in stage.ops:
            return False
        if isinstance(stage, RouteStage) and name == stage.classifier:
            return False
    return not any(checking_op(b) == name for b in t.task.boosters)
