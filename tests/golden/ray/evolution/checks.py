"""Exact checks for the plan's `retry until exact` ops, one function per op.

The program calls ``check_OP(request, answer)`` after each try of OP: ``request`` is the JSON
object sent to the model (its ``items``, ``previous``, ``children``... as the stage builds
them) and ``answer`` the parsed answer. Return True to accept the answer, False to try again.
Write these in plain Python; run the program with ``--checks FILE`` to use another file.
"""

from __future__ import annotations

from typing import Any


def check_mutate(request: dict[str, Any], answer: Any) -> bool:
    """Accept or reject one answer of the op mutate."""
    raise NotImplementedError("write the exact check for op 'mutate'")
