"""What the task and pin checks need of the spec checker (``check.SpecChecker``), as a
protocol, so that they depend on this interface and not on the module that drives them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from aalp.diagnostics import Diagnostic, Severity
from aalp.front.expr import Number
from aalp.front.ir import Expr, Span, Spec


class Checker(Protocol):
    spec: Spec
    diags: list[Diagnostic]
    env: dict[str, Number]
    used: set[str]

    def report(
        self, severity: Severity, code: str, message: str, span: Span, hint: str = ""
    ) -> None: ...

    def error(self, code: str, message: str, span: Span, hint: str = "") -> None: ...

    def warn(self, code: str, message: str, span: Span, hint: str = "") -> None: ...

    @staticmethod
    def at(node: object, fallback: Span) -> Span: ...

    def formula_ok(
        self,
        expr: Expr,
        scope: Mapping[str, str],
        fallback: Span,
        what: str,
        *,
        x_hint: str = "",
    ) -> bool: ...

    def value(
        self,
        expr: Expr,
        scope: Mapping[str, str],
        fallback: Span,
        what: str,
        extra: Mapping[str, Number] | None = None,
        *,
        x_hint: str = "",
    ) -> Number | None: ...
