"""Diagnostics: every problem found in a spec, with its position, code and hint."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from .ir import Span

Severity = Literal["error", "warning", "note"]


@dataclass(frozen=True)
class Diagnostic:
    """One problem: ``file:line:col: severity: message`` plus a hint.

    ``code`` is a stable identifier (``E101``) that tests and tools match on; ``line`` and
    ``col`` are 1-based.
    """

    severity: Severity
    code: str
    message: str
    span: Span
    hint: str = ""

    @property
    def line(self) -> int:
        return self.span.line

    @property
    def col(self) -> int:
        return self.span.col


class SpecError(Exception):
    """Raised by a public verb when a spec has errors; carries every diagnostic found."""

    def __init__(self, diagnostics: list[Diagnostic]):
        self.diagnostics = diagnostics
        super().__init__("; ".join(d.message for d in diagnostics if d.severity == "error"))
